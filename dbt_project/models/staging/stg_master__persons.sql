with persons as (
    select
        person_key,
        id_type,
        id_pseudonym,
        id_masked,
        name_masked,
        gender,
        birth_year,
        phone_masked,
        residence_status,
        coalesce(record_status, 'active') as record_status,
        coalesce(has_population_record, false) as has_population_record,
        community_code,
        grid_id,
        address_id,
        source_systems,
        first_seen_date,
        last_seen_date
    from {{ source('master', 'persons') }}
)

select * from persons
