with crosswalk as (
    select
        feed,
        source_system,
        source_record_id,
        entity_key,
        grade,
        score,
        evidence,
        business_date
    from {{ source('master', 'entity_crosswalk') }}
)

select * from crosswalk
