{#
  Supersession: a record re-sent later (e.g. a corrected result) replaces the earlier one;
  first_known_date keeps when the sample was first reported (for a round's deadline).
#}
with tests as (
    select
        source_platform,
        sample_id,
        tube_id,
        coalesce(pool_size, 1) as pool_size,
        id_type,
        id_pseudonym,
        id_masked,
        id_valid,
        coalesce(birth_date_conflict, false) as has_birth_date_conflict,
        coalesce(gender_conflict, false) as has_gender_conflict,
        sampled_at,
        site_division_code,
        tested_at,
        result,
        coalesce(site_in_district, true) as is_site_in_district,
        business_date as known_date,
        delivery_id,
        ingested_at
    from {{ source('lake', 'nucleic_acid_tests') }}
    where business_date <= {{ business_date() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by source_platform, sample_id
            order by known_date desc, ingested_at desc nulls last, delivery_id desc nulls last
        ) as version_rank,
        min(known_date) over (partition by source_platform, sample_id) as first_known_date
    from tests
)

select
    source_platform,
    sample_id,
    tube_id,
    pool_size,
    id_type,
    id_pseudonym,
    id_masked,
    id_valid,
    has_birth_date_conflict,
    has_gender_conflict,
    sampled_at,
    site_division_code,
    tested_at,
    result,
    is_site_in_district,
    known_date,
    first_known_date,
    delivery_id
from ranked
where version_rank = 1
