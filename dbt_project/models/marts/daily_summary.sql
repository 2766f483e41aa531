{#
  One row per business day up to the computed date: comparisons made, codes assigned and
  cleared, persons coded at the end of the day (computed from the states independently of
  the event counts, so the reconciliation test can fail), tasks opened and closed.
#}
with tests as (
    select known_date from {{ ref('stg_lake__nucleic_acid_tests') }}
),

changes as (
    select * from {{ ref('code_events') }}
),

tasks as (
    select * from {{ ref('verification_tasks') }}
),

first_day as (
    select least(
        coalesce((select min(known_date) from tests), {{ business_date() }}),
        coalesce((select min(event_date) from changes), {{ business_date() }}),
        {{ business_date() }}
    ) as day
),

days as (
    {{ date_spine('(select day from first_day)', business_date()) }}
),

comparisons as (
    select known_date as day, count(*) as comparisons
    from tests
    group by known_date
),

events_by_day as (
    select
        event_date as day,
        sum(case when from_code = 'green' and to_code = 'red' then 1 else 0 end) as assigned_red,
        sum(case when from_code = 'green' and to_code = 'yellow' then 1 else 0 end) as assigned_yellow,
        sum(case when from_code = 'yellow' and to_code = 'red' then 1 else 0 end) as escalated_to_red,
        sum(case when from_code <> 'green' and to_code = 'green' then 1 else 0 end) as cleared
    from changes
    group by event_date
),

day_end_states as (
    select
        person_key,
        code,
        {{ local_date('event_at') }} as valid_from,
        lead({{ local_date('event_at') }}) over (partition by person_key order by event_seq)
            as next_event_date
    from {{ ref('int_person_code_states') }}
),

last_state_of_day as (
    select person_key, code, valid_from, next_event_date
    from day_end_states
    where next_event_date is null or next_event_date > valid_from
),

coded as (
    select
        d.day,
        sum(case when s.code = 'red' then 1 else 0 end) as coded_red,
        sum(case when s.code = 'yellow' then 1 else 0 end) as coded_yellow
    from days as d
    inner join last_state_of_day as s
        on s.valid_from <= d.day and (s.next_event_date is null or d.day < s.next_event_date)
    where s.code <> 'green'
    group by d.day
),

tasks_opened as (
    select opened_date as day, count(*) as tasks_opened from tasks group by opened_date
),

tasks_closed as (
    select closed_date as day, count(*) as tasks_closed
    from tasks
    where closed_date is not null
    group by closed_date
),

library as (
    select
        d.day,
        count(p.person_key) as persons_in_library
    from days as d
    left join {{ ref('int_persons_routed') }} as p
        on p.is_resident and coalesce(p.first_seen_date, {{ business_date() }}) <= d.day
    group by d.day
),

summary as (
    select
        d.day as business_date,
        coalesce(c.comparisons, 0) as comparisons,
        coalesce(e.assigned_red, 0) as assigned_red,
        coalesce(e.assigned_yellow, 0) as assigned_yellow,
        coalesce(e.assigned_red, 0) + coalesce(e.assigned_yellow, 0) as assigned,
        coalesce(e.escalated_to_red, 0) as escalated_to_red,
        coalesce(e.cleared, 0) as cleared,
        coalesce(k.coded_red, 0) as coded_red,
        coalesce(k.coded_yellow, 0) as coded_yellow,
        coalesce(k.coded_red, 0) + coalesce(k.coded_yellow, 0) as coded,
        coalesce(o.tasks_opened, 0) as tasks_opened,
        coalesce(x.tasks_closed, 0) as tasks_closed,
        l.persons_in_library,
        {{ business_date() }} as as_of_date
    from days as d
    left join comparisons as c on c.day = d.day
    left join events_by_day as e on e.day = d.day
    left join coded as k on k.day = d.day
    left join tasks_opened as o on o.day = d.day
    left join tasks_closed as x on x.day = d.day
    left join library as l on l.day = d.day
)

select * from summary
