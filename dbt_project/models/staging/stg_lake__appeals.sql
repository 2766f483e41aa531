with appeals as (
    select
        appeal_id,
        id_type,
        id_pseudonym,
        reason,
        submitted_at,
        decision,
        decided_at,
        business_date as known_date,
        ingested_at,
        delivery_id
    from {{ source('lake', 'appeals') }}
    where business_date <= {{ business_date() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by appeal_id
            order by known_date desc, ingested_at desc nulls last, delivery_id desc nulls last
        ) as version_rank
    from appeals
)

select
    appeal_id,
    id_type,
    id_pseudonym,
    reason,
    submitted_at,
    decision,
    decided_at,
    known_date
from ranked
where version_rank = 1
