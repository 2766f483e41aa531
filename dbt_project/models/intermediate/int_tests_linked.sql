{#
  Test results known by the end of the business day, linked to master persons and counted
  once per person: the same test reported by both platforms (same person, tube and sampling
  time) keeps the first-known record. effective_at is when a result is both tested and known
  (tested_at, or the start of the day it arrived if it arrived on a later day).
  A "possible" match links no person (it becomes a verification task).
#}
with tests as (
    select * from {{ ref('stg_lake__nucleic_acid_tests') }}
),

crosswalk as (
    select source_system, source_record_id, person_key, grade
    from {{ ref('stg_master__person_crosswalk') }}
    where feed = 'nucleic_acid'
),

persons_by_id as (
    select id_pseudonym, min(person_key) as person_key, count(*) as persons
    from {{ ref('stg_master__persons') }}
    where id_pseudonym is not null
    group by id_pseudonym
),

linked as (
    select
        t.*,
        coalesce(c.person_key, case when p.persons = 1 then p.person_key end) as candidate_person_key,
        coalesce(c.grade, case when p.persons = 1 then 'certain' end, 'unlinked') as match_grade,
        greatest(coalesce(t.tested_at, {{ local_day_start('t.known_date') }}),
                 {{ local_day_start('t.known_date') }}) as effective_at
    from tests as t
    left join crosswalk as c
        on c.source_system = t.source_platform and c.source_record_id = t.sample_id
    left join persons_by_id as p on p.id_pseudonym = t.id_pseudonym
),

keyed as (
    select
        *,
        case when match_grade <> 'possible' then candidate_person_key end as person_key,
        coalesce(
            candidate_person_key, 'id:' || id_pseudonym, 'rec:' || source_platform || ':' || sample_id
        ) as person_ref
    from linked
    where effective_at < {{ business_day_end() }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by person_ref, coalesce(tube_id, sample_id), sampled_at
            order by known_date, effective_at, source_platform, sample_id
        ) as report_rank,
        count(*) over (partition by person_ref, coalesce(tube_id, sample_id), sampled_at)
            as platform_reports
    from keyed
)

select
    sample_id,
    source_platform,
    tube_id,
    pool_size,
    person_key,
    candidate_person_key,
    match_grade,
    person_ref,
    id_pseudonym,
    id_valid,
    has_birth_date_conflict,
    has_gender_conflict,
    sampled_at,
    tested_at,
    effective_at,
    result,
    known_date,
    first_known_date,
    is_site_in_district,
    site_division_code,
    platform_reports
from deduplicated
where report_rank = 1
