{# Residents who received each dose, by dose, age band and community, as of the business day. #}
with residents as (
    select person_key, community_code, age_band
    from {{ ref('int_persons_routed') }}
    where is_resident
),

links as (
    select source_system, source_record_id, person_key
    from {{ ref('stg_master__person_crosswalk') }}
    where feed = 'vaccination' and grade <> 'possible'
),

persons_by_id as (
    select id_pseudonym, min(person_key) as person_key, count(*) as persons
    from {{ ref('stg_master__persons') }}
    where id_pseudonym is not null
    group by id_pseudonym
),

doses as (
    select distinct
        coalesce(l.person_key, case when p.persons = 1 then p.person_key end) as person_key,
        v.dose_number
    from {{ ref('stg_lake__vaccinations') }} as v
    left join links as l on l.source_system = v.source_system and l.source_record_id = v.record_id
    left join persons_by_id as p on p.id_pseudonym = v.id_pseudonym
    where v.dose_number is not null and v.vaccinated_at < {{ business_day_end() }}
),

dose_numbers as (
    select distinct dose_number from doses
),

population as (
    select community_code, age_band, count(*) as residents
    from residents
    group by community_code, age_band
),

vaccinated as (
    select r.community_code, r.age_band, d.dose_number, count(distinct r.person_key) as vaccinated
    from residents as r
    inner join doses as d on d.person_key = r.person_key
    group by r.community_code, r.age_band, d.dose_number
),

coverage as (
    select
        n.dose_number,
        p.age_band,
        p.community_code,
        p.residents,
        coalesce(v.vaccinated, 0) as vaccinated,
        {{ ratio('coalesce(v.vaccinated, 0)', 'p.residents') }} as coverage_rate,
        {{ business_date() }} as as_of_date
    from population as p
    cross join dose_numbers as n
    left join vaccinated as v
        on v.community_code is not distinct from p.community_code
        and v.age_band = p.age_band
        and v.dose_number = n.dose_number
)

select * from coverage
