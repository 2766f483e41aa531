with rounds as (
    select
        round_id,
        name as round_name,
        starts_at,
        ends_at,
        scope,
        business_date as known_date,
        ingested_at
    from {{ source('lake', 'testing_rounds') }}
    where business_date <= {{ business_date() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by round_id order by known_date desc, ingested_at desc nulls last
        ) as version_rank
    from rounds
)

select round_id, round_name, starts_at, ends_at, scope, known_date
from ranked
where version_rank = 1
