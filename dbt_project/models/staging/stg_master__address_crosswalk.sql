with crosswalk as (
    select
        feed,
        source_system,
        source_record_id,
        address_role,
        address_key,
        grade,
        score,
        evidence,
        business_date
    from {{ source('master', 'address_crosswalk') }}
)

select * from crosswalk
