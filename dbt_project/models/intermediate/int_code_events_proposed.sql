{#
  The candidate events of every resident, from tests, missed rounds and appeals, with the
  rule that proposes them. Which of them change a code is decided in order by
  int_person_code_states. Priority orders events at the same instant: assignments first.
#}
with rules as (
    select * from {{ ref('stg_lake__code_rules') }}
),

params as (
    select * from {{ ref('int_code_rules_pivoted') }}
),

residents as (
    select person_key from {{ ref('int_persons_routed') }} where is_resident
),

tests as (
    select t.*
    from {{ ref('int_tests_linked') }} as t
    inner join residents as r on r.person_key = t.person_key
),

positives as (
    select
        t.person_key, t.effective_at as event_at, 'positive' as event_kind, 'R1' as rule_id,
        1 as priority, t.sample_id, t.sampled_at,
        false as clears_red, false as clears_yellow
    from tests as t
    cross join params as p
    where t.pool_size <= p.r1_max_pool_size
        and t.result in (select value from rules where rule_id = 'R1' and param = 'results')
),

pooled_positives as (
    select
        t.person_key, t.effective_at as event_at, 'pooled_positive' as event_kind, 'Y3' as rule_id,
        2 as priority, t.sample_id, t.sampled_at,
        false as clears_red, false as clears_yellow
    from tests as t
    cross join params as p
    where t.pool_size >= p.y3_min_pool_size
        and t.result in (select value from rules where rule_id = 'Y3' and param = 'results')
        and not exists (
            select 1
            from tests as i
            where i.person_key = t.person_key
                and i.pool_size <= p.r1_max_pool_size
                and i.sampled_at > t.sampled_at
                and i.effective_at <= t.effective_at
                and i.result is not null
                and i.result <> 'pending'
        )
),

suspects as (
    select
        t.person_key, t.effective_at as event_at, 'suspect' as event_kind, 'Y2' as rule_id,
        3 as priority, t.sample_id, t.sampled_at,
        false as clears_red, false as clears_yellow
    from tests as t
    where t.result in (select value from rules where rule_id = 'Y2' and param = 'results')
),

negatives as (
    select
        t.person_key, t.effective_at as event_at, 'negative' as event_kind,
        cast(null as {{ t_text() }}) as rule_id,
        5 as priority, t.sample_id, t.sampled_at,
        t.result in (select value from rules where rule_id = 'R1_CLEAR' and param = 'results')
            as clears_red,
        t.result in (select value from rules where rule_id = 'Y_CLEAR_TEST' and param = 'results')
            as clears_yellow
    from tests as t
    where t.result in (
        select value from rules where rule_id in ('R1_CLEAR', 'Y_CLEAR_TEST') and param = 'results'
    )
),

test_events as (
    select * from positives
    union all
    select * from pooled_positives
    union all
    select * from suspects
    union all
    select * from negatives
),

missed_rounds as (
    select
        person_key,
        ends_at as event_at,
        'missed_round' as event_kind,
        'Y1' as rule_id,
        4 as priority,
        round_id,
        starts_at as round_starts_at,
        ends_at as round_ends_at
    from {{ ref('int_round_residents') }}
    where is_round_ended and not is_tested_by_deadline
),

appeal_links as (
    select source_record_id, person_key, grade
    from {{ ref('stg_master__person_crosswalk') }}
    where feed = 'appeals'
),

persons_by_id as (
    select id_pseudonym, min(person_key) as person_key, count(*) as persons
    from {{ ref('stg_master__persons') }}
    where id_pseudonym is not null
    group by id_pseudonym
),

appeals as (
    select
        coalesce(l.person_key, case when p.persons = 1 then p.person_key end) as person_key,
        coalesce(l.grade, 'certain') as grade,
        greatest(a.decided_at, {{ local_day_start('a.known_date') }}) as event_at,
        a.appeal_id,
        a.submitted_at
    from {{ ref('stg_lake__appeals') }} as a
    left join appeal_links as l on l.source_record_id = a.appeal_id
    left join persons_by_id as p on p.id_pseudonym = a.id_pseudonym
    where a.decided_at is not null
        and a.decision in (
            select value from rules where rule_id = 'Y_CLEAR_APPEAL' and param = 'decisions'
        )
),

appeal_events as (
    select a.person_key, a.event_at, a.appeal_id, a.submitted_at
    from appeals as a
    inner join residents as r on r.person_key = a.person_key
    where a.grade <> 'possible' and a.event_at < {{ business_day_end() }}
),

all_events as (
    select
        person_key, event_at, event_kind, rule_id, priority, sample_id, sampled_at,
        clears_red, clears_yellow,
        cast(null as {{ t_text() }}) as round_id,
        cast(null as {{ t_ts() }}) as round_starts_at,
        cast(null as {{ t_ts() }}) as round_ends_at,
        cast(null as {{ t_text() }}) as appeal_id,
        cast(null as {{ t_ts() }}) as submitted_at
    from test_events
    union all
    select
        person_key, event_at, event_kind, rule_id, priority,
        cast(null as {{ t_text() }}) as sample_id, cast(null as {{ t_ts() }}) as sampled_at,
        false as clears_red, false as clears_yellow,
        round_id, round_starts_at, round_ends_at,
        cast(null as {{ t_text() }}) as appeal_id, cast(null as {{ t_ts() }}) as submitted_at
    from missed_rounds
    union all
    select
        person_key, event_at, 'appeal' as event_kind, cast(null as {{ t_text() }}) as rule_id,
        6 as priority,
        cast(null as {{ t_text() }}) as sample_id, cast(null as {{ t_ts() }}) as sampled_at,
        false as clears_red, false as clears_yellow,
        cast(null as {{ t_text() }}) as round_id, cast(null as {{ t_ts() }}) as round_starts_at,
        cast(null as {{ t_ts() }}) as round_ends_at,
        appeal_id, submitted_at
    from appeal_events
),

sequenced as (
    select
        *,
        row_number() over (
            partition by person_key
            order by event_at, priority, coalesce(sample_id, round_id, appeal_id)
        ) as event_seq
    from all_events
)

select * from sequenced
