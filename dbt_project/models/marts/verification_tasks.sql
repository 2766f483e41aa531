{#
  Every verification task ever detected up to the business day, with its opened and closed
  dates. A task stays open while it is detected; a task closed by its own rule (a missed round
  cleared by a test) carries that date; a task no longer detected is closed on the first built
  day it was absent. Only days <= the business date count, so a backfill ignores later days.
#}
with task_days as (
    select * from {{ ref('verification_task_days') }}
    where as_of_date <= {{ business_date() }}
),

built_days as (
    select distinct as_of_date as built_date from task_days
),

spans as (
    select
        task_id,
        min(opened_date) as opened_date,
        min(as_of_date) as first_detected_date,
        max(as_of_date) as last_detected_date
    from task_days
    group by task_id
),

latest as (
    select d.*
    from task_days as d
    inner join spans as s on s.task_id = d.task_id and s.last_detected_date = d.as_of_date
),

first_absence as (
    select
        s.task_id,
        min(b.built_date) as absent_date
    from spans as s
    inner join built_days as b on b.built_date > s.last_detected_date
    group by s.task_id
),

history as (
    select
        l.task_id,
        l.task_kind,
        l.reason,
        l.person_key,
        l.grid_id,
        l.community_code,
        l.round_id,
        l.evidence,
        s.opened_date,
        coalesce(l.closed_date, a.absent_date) as closed_date,
        case
            when l.closed_date is not null then 'resolved'
            when a.absent_date is not null then 'no_longer_detected'
        end as close_reason,
        s.first_detected_date,
        s.last_detected_date,
        {{ business_date() }} as as_of_date
    from latest as l
    inner join spans as s on s.task_id = l.task_id
    left join first_absence as a on a.task_id = l.task_id
),

flagged as (
    select
        task_id,
        task_kind,
        reason,
        person_key,
        grid_id,
        community_code,
        round_id,
        evidence,
        opened_date,
        closed_date,
        closed_date is null as is_open,
        close_reason,
        first_detected_date,
        last_detected_date,
        as_of_date
    from history
)

select * from flagged
