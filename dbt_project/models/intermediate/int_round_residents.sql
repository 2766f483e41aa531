{#
  Each testing round with every resident in its scope (permanent or floating residents, per
  rule Y1, of a community under one of the round's division codes), and whether the resident
  had a counting sample in the window: as known by the end of the day of ends_at (Y1), and as
  known now (coverage).
#}
with rounds as (
    select * from {{ ref('stg_lake__testing_rounds') }}
    where starts_at < {{ business_day_end() }}
),

scope_codes as (
    select round_id, trim({{ split_to_rows('scope', ';') }}) as scope_code
    from rounds
),

scope_prefixes as (
    select distinct round_id, {{ division_prefix('scope_code') }} as scope_prefix
    from scope_codes
    where scope_code <> ''
),

residents as (
    select * from {{ ref('int_persons_routed') }}
    where is_resident
        and residence_status in (
            select value from {{ ref('stg_lake__code_rules') }}
            where rule_id = 'Y1' and param = 'residence_statuses'
        )
),

in_scope as (
    select distinct
        r.round_id,
        r.round_name,
        r.starts_at,
        r.ends_at,
        p.person_key,
        p.community_code,
        p.grid_id
    from rounds as r
    inner join scope_prefixes as s on s.round_id = r.round_id
    inner join residents as p on p.community_code like s.scope_prefix || '%'
),

counting_tests as (
    select * from {{ ref('int_tests_linked') }}
    where person_key is not null
        and result in (
            select value from {{ ref('stg_lake__code_rules') }}
            where rule_id = 'Y1' and param = 'counting_results'
        )
),

tested as (
    select
        s.round_id,
        s.person_key,
        max(case when t.first_known_date <= {{ local_date('s.ends_at') }} then 1 else 0 end)
            as tested_by_deadline,
        min(t.sample_id) as first_sample_id
    from in_scope as s
    inner join counting_tests as t
        on t.person_key = s.person_key and t.sampled_at >= s.starts_at and t.sampled_at <= s.ends_at
    group by s.round_id, s.person_key
),

joined as (
    select
        s.*,
        s.ends_at < {{ business_day_end() }} as is_round_ended,
        t.person_key is not null as is_tested,
        coalesce(t.tested_by_deadline, 0) = 1 as is_tested_by_deadline,
        t.first_sample_id
    from in_scope as s
    left join tested as t on t.round_id = s.round_id and t.person_key = s.person_key
)

select * from joined
