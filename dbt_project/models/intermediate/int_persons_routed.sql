{# Every master person with resident flag, age band and the grid its tasks go to. #}
with persons as (
    select * from {{ ref('stg_master__persons') }}
),

addresses as (
    select * from {{ ref('stg_lake__addresses') }}
),

community_grids as (
    select community_code, min(grid_id) as grid_id
    from {{ ref('stg_lake__grids') }}
    group by community_code
),

routed as (
    select
        p.person_key,
        p.id_pseudonym,
        p.id_masked,
        p.name_masked,
        p.gender,
        p.birth_year,
        p.residence_status,
        p.record_status,
        p.has_population_record,
        (p.has_population_record and p.record_status = 'active') as is_resident,
        coalesce(p.community_code, a.community_code) as community_code,
        coalesce(p.grid_id, a.grid_id, cg.grid_id) as grid_id,
        cast(extract(year from {{ business_date() }}) as integer) - p.birth_year as age_years,
        p.first_seen_date
    from persons as p
    left join addresses as a on a.address_id = p.address_id
    left join community_grids as cg on cg.community_code = coalesce(p.community_code, a.community_code)
),

banded as (
    select
        *,
        case
            when age_years is null then 'unknown'
            when age_years < 3 then '0-2'
            when age_years < 12 then '3-11'
            when age_years < 18 then '12-17'
            when age_years < 60 then '18-59'
            when age_years < 70 then '60-69'
            when age_years < 80 then '70-79'
            else '80+'
        end as age_band
    from routed
)

select * from banded
