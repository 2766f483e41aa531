{#
  The cases a grid worker must verify by hand as detected from the data of the business day,
  each routed to a grid, with reason and evidence (sample ids, round id, source records; never
  raw identity data). A case whose condition no longer holds is simply absent here; the marts
  verification_task_days / verification_tasks keep it and close it.
#}
with persons as (
    select * from {{ ref('int_persons_routed') }}
),

tests as (
    select * from {{ ref('int_tests_linked') }}
),

community_grids as (
    select community_code, min(grid_id) as grid_id
    from {{ ref('stg_lake__grids') }}
    group by community_code
),

not_in_library as (
    select
        'not_in_library' as task_kind,
        'tested in the district but not in the population library' as reason,
        t.person_ref as subject_key,
        max(t.candidate_person_key) as person_key,
        cast(null as {{ t_text() }}) as round_id,
        min(t.site_division_code) as site_division_code,
        {{ str_agg('t.sample_id', ',', 't.sample_id') }} as sample_ids,
        min(t.known_date) as opened_date,
        cast(null as date) as closed_date
    from tests as t
    left join persons as p on p.person_key = t.candidate_person_key
    where t.is_site_in_district
        and t.match_grade <> 'possible'
        and coalesce(p.is_resident, false) = false
    group by t.person_ref
),

round_tests as (
    select
        rr.round_id,
        rr.person_key,
        rr.ends_at,
        t.sample_id,
        t.known_date,
        t.is_site_in_district
    from {{ ref('int_round_residents') }} as rr
    inner join tests as t
        on t.person_key = rr.person_key and t.sampled_at >= rr.starts_at and t.sampled_at <= rr.ends_at
),

tested_outside_only as (
    select
        'tested_outside_only' as task_kind,
        'a resident tested only outside the district during a round' as reason,
        person_key as subject_key,
        person_key,
        round_id,
        cast(null as {{ t_text() }}) as site_division_code,
        {{ str_agg('sample_id', ',', 'sample_id') }} as sample_ids,
        min(known_date) as opened_date,
        cast(null as date) as closed_date
    from round_tests
    group by round_id, person_key
    having bool_and(not is_site_in_district)
),

possible_matches as (
    select
        'possible_match' as task_kind,
        'a source record possibly matches this person' as reason,
        c.feed || ':' || c.source_system || ':' || c.source_record_id as subject_key,
        c.person_key,
        cast(null as {{ t_text() }}) as round_id,
        cast(null as {{ t_text() }}) as site_division_code,
        c.feed || ':' || c.source_system || ':' || c.source_record_id as sample_ids,
        c.business_date as opened_date,
        cast(null as date) as closed_date
    from {{ ref('stg_master__person_crosswalk') }} as c
    where c.grade = 'possible' and c.business_date <= {{ business_date() }}
),

shared_ids as (
    select id_pseudonym
    from persons
    where id_pseudonym is not null
    group by id_pseudonym
    having count(*) > 1
),

identity_conflicts as (
    select
        'identity_conflict' as task_kind,
        'conflicting identity data across sources' as reason,
        p.person_key as subject_key,
        p.person_key,
        cast(null as {{ t_text() }}) as round_id,
        cast(null as {{ t_text() }}) as site_division_code,
        cast(null as {{ t_text() }}) as sample_ids,
        coalesce(p.first_seen_date, {{ business_date() }}) as opened_date,
        cast(null as date) as closed_date
    from persons as p
    inner join shared_ids as s on s.id_pseudonym = p.id_pseudonym

    union all

    select
        'identity_conflict' as task_kind,
        'conflicting identity data across sources' as reason,
        t.person_key as subject_key,
        t.person_key,
        cast(null as {{ t_text() }}) as round_id,
        cast(null as {{ t_text() }}) as site_division_code,
        {{ str_agg('t.sample_id', ',', 't.sample_id') }} as sample_ids,
        min(t.known_date) as opened_date,
        cast(null as date) as closed_date
    from tests as t
    inner join persons as p on p.person_key = t.person_key
    where t.person_key not in (select person_key from persons inner join shared_ids using (id_pseudonym))
        and (
            t.has_birth_date_conflict
            or t.has_gender_conflict
            or (t.id_pseudonym is not null and p.id_pseudonym is not null and t.id_pseudonym <> p.id_pseudonym)
        )
    group by t.person_key
),

code_events as (
    select * from {{ ref('code_events') }}
),

missed_rounds as (
    select
        'missed_round' as task_kind,
        'in scope of a testing round and not sampled within it' as reason,
        y.person_key as subject_key,
        y.person_key,
        y.evidence_round_id as round_id,
        cast(null as {{ t_text() }}) as site_division_code,
        cast(null as {{ t_text() }}) as sample_ids,
        y.event_date as opened_date,
        (
            select min(g.event_date)
            from code_events as g
            where g.person_key = y.person_key and g.to_code = 'green' and g.event_seq > y.event_seq
        ) as closed_date
    from code_events as y
    where y.rule_id = 'Y1'
),

all_tasks as (
    select * from not_in_library
    union all
    select * from tested_outside_only
    union all
    select * from possible_matches
    union all
    select * from identity_conflicts
    union all
    select * from missed_rounds
),

routed as (
    select
        md5(a.task_kind || '|' || a.subject_key || '|' || coalesce(a.round_id, '')) as task_id,
        a.task_kind,
        a.reason,
        a.person_key,
        coalesce(p.grid_id, sg.grid_id) as grid_id,
        coalesce(p.community_code, sg.community_code) as community_code,
        a.round_id,
        {{ json_text([('sample_ids', 'a.sample_ids'), ('round_id', 'a.round_id')]) }} as evidence,
        a.opened_date,
        a.closed_date,
        a.closed_date is null as is_open,
        {{ business_date() }} as as_of_date
    from all_tasks as a
    left join persons as p on p.person_key = a.person_key
    left join community_grids as sg on sg.community_code = a.site_division_code
)

select * from routed
