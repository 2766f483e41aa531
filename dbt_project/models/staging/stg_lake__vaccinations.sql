with vaccinations as (
    select
        source_system,
        record_id,
        id_type,
        id_pseudonym,
        dose_number,
        vaccine_product,
        vaccinated_at,
        site_division_code,
        business_date as known_date,
        ingested_at,
        delivery_id
    from {{ source('lake', 'vaccinations') }}
    where business_date <= {{ business_date() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by source_system, record_id
            order by known_date desc, ingested_at desc nulls last, delivery_id desc nulls last
        ) as version_rank
    from vaccinations
)

select
    source_system,
    record_id,
    id_type,
    id_pseudonym,
    dose_number,
    vaccine_product,
    vaccinated_at,
    site_division_code,
    known_date
from ranked
where version_rank = 1
