with addresses as (
    select
        address_key,
        address_id,
        community_code,
        grid_id,
        address_masked,
        source_systems,
        records,
        first_seen_date,
        last_seen_date,
        field_sources
    from {{ source('master', 'addresses') }}
)

select * from addresses
