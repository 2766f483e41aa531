with crosswalk as (
    select
        feed,
        source_system,
        source_record_id,
        person_key,
        grade,
        score,
        evidence,
        business_date
    from {{ source('master', 'person_crosswalk') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by feed, source_system, source_record_id
            order by business_date desc, person_key
        ) as version_rank
    from crosswalk
)

select
    feed,
    source_system,
    source_record_id,
    person_key,
    grade,
    score,
    evidence,
    business_date
from latest
where version_rank = 1
