{#
  The code state machine: each resident's proposed events in order, one step per event
  (a recursive CTE that runs on DuckDB and Postgres). Row n holds the state after event n
  and, when the code changed, the transition with its rule and evidence.

  Rules (code_rules/<set>.yaml): red outranks yellow outranks green; only R1_CLEAR turns red
  into anything else; a yellow trigger while yellow refreshes the assignment time (a clearing
  negative must then be sampled after the latest trigger).
#}
{%- set neg_red -%}
coalesce(p.code = 'red' and e.clears_red and e.sampled_at > p.pos_sampled_at, false)
{%- endset -%}
{%- set red_clear -%}
coalesce({{ neg_red }} and p.neg_min_at is not null
    and greatest(p.neg_max_at, e.sampled_at) >= {{ add_hours('least(p.neg_min_at, e.sampled_at)', 'r.r1_clear_min_gap_hours') }}, false)
{%- endset -%}
{%- set assign_red -%}(e.event_kind = 'positive' and p.code <> 'red'){%- endset -%}
{%- set y_trigger -%}(e.event_kind in ('pooled_positive', 'suspect', 'missed_round')){%- endset -%}
{%- set assign_yellow -%}({{ y_trigger }} and p.code = 'green'){%- endset -%}
{%- set y_clear_test -%}
coalesce(p.code = 'yellow' and e.clears_yellow and (
    e.sampled_at > p.y_assigned_at
    or (p.y_rule_id = 'Y1' and e.sampled_at >= p.y_round_starts_at and e.sampled_at <= p.y_round_ends_at)
), false)
{%- endset -%}
{%- set y_clear_appeal -%}
coalesce(p.code = 'yellow' and e.event_kind = 'appeal' and e.submitted_at > p.y_assigned_at, false)
{%- endset -%}
{%- set is_change -%}
({{ assign_red }} or {{ red_clear }} or {{ assign_yellow }} or {{ y_clear_test }} or {{ y_clear_appeal }})
{%- endset -%}
{%- set leaves_yellow -%}({{ assign_red }} or {{ red_clear }} or {{ y_clear_test }} or {{ y_clear_appeal }}){%- endset -%}
{%- set resets_red -%}(e.event_kind = 'positive' or {{ red_clear }}){%- endset -%}
{%- set sets_yellow -%}({{ y_trigger }} and p.code <> 'red'){%- endset -%}

{%- set columns = [
    ('event_at', 'e.event_at', t_ts()),
    ('event_kind', 'e.event_kind', t_text()),
    ('is_change', is_change, 'boolean'),
    ('from_code', 'p.code', t_text()),
    ('code', "case when " ~ assign_red ~ " then 'red' when " ~ red_clear ~ " then 'green' when "
        ~ assign_yellow ~ " then 'yellow' when " ~ y_clear_test ~ " or " ~ y_clear_appeal
        ~ " then 'green' else p.code end", t_text()),
    ('transition_rule_id', "case when " ~ assign_red ~ " then 'R1' when " ~ red_clear
        ~ " then 'R1_CLEAR' when " ~ assign_yellow ~ " then e.rule_id when " ~ y_clear_test
        ~ " then 'Y_CLEAR_TEST' when " ~ y_clear_appeal ~ " then 'Y_CLEAR_APPEAL' end", t_text()),
    ('evidence_sample_ids', "case when " ~ red_clear ~ " then (case when e.sampled_at >= "
        ~ add_hours('p.neg_min_at', 'r.r1_clear_min_gap_hours')
        ~ " then p.neg_min_sample_id || ',' || e.sample_id else e.sample_id || ',' || p.neg_max_sample_id end)"
        ~ " when " ~ is_change ~ " then e.sample_id end", t_text()),
    ('evidence_round_id', "case when " ~ assign_yellow ~ " then e.round_id when " ~ y_clear_test
        ~ " or " ~ y_clear_appeal ~ " then p.y_round_id end", t_text()),
    ('evidence_appeal_id', "case when " ~ y_clear_appeal ~ " then e.appeal_id end", t_text()),
    ('code_since', "case when " ~ is_change ~ " then e.event_at else p.code_since end", t_ts()),
    ('code_rule_id', "case when " ~ is_change ~ " then (case when " ~ assign_red ~ " then 'R1' when "
        ~ red_clear ~ " then 'R1_CLEAR' when " ~ assign_yellow ~ " then e.rule_id when " ~ y_clear_test
        ~ " then 'Y_CLEAR_TEST' else 'Y_CLEAR_APPEAL' end) else p.code_rule_id end", t_text()),
    ('pos_sampled_at', "case when e.event_kind = 'positive' then e.sampled_at when " ~ red_clear
        ~ " then null else p.pos_sampled_at end", t_ts()),
    ('neg_min_at', "case when " ~ resets_red ~ " then null when " ~ neg_red
        ~ " then least(coalesce(p.neg_min_at, e.sampled_at), e.sampled_at) else p.neg_min_at end", t_ts()),
    ('neg_min_sample_id', "case when " ~ resets_red ~ " then null when " ~ neg_red
        ~ " and (p.neg_min_at is null or e.sampled_at < p.neg_min_at) then e.sample_id else p.neg_min_sample_id end", t_text()),
    ('neg_max_at', "case when " ~ resets_red ~ " then null when " ~ neg_red
        ~ " then greatest(coalesce(p.neg_max_at, e.sampled_at), e.sampled_at) else p.neg_max_at end", t_ts()),
    ('neg_max_sample_id', "case when " ~ resets_red ~ " then null when " ~ neg_red
        ~ " and (p.neg_max_at is null or e.sampled_at > p.neg_max_at) then e.sample_id else p.neg_max_sample_id end", t_text()),
    ('y_assigned_at', "case when " ~ leaves_yellow ~ " then null when " ~ sets_yellow
        ~ " then e.event_at else p.y_assigned_at end", t_ts()),
    ('y_rule_id', "case when " ~ leaves_yellow ~ " then null when " ~ sets_yellow
        ~ " then e.rule_id else p.y_rule_id end", t_text()),
    ('y_round_id', "case when " ~ leaves_yellow ~ " then null when " ~ sets_yellow
        ~ " then e.round_id else p.y_round_id end", t_text()),
    ('y_round_starts_at', "case when " ~ leaves_yellow ~ " then null when " ~ sets_yellow
        ~ " then e.round_starts_at else p.y_round_starts_at end", t_ts()),
    ('y_round_ends_at', "case when " ~ leaves_yellow ~ " then null when " ~ sets_yellow
        ~ " then e.round_ends_at else p.y_round_ends_at end", t_ts()),
] -%}

{%- set state_columns = ['code', 'code_since', 'code_rule_id', 'pos_sampled_at', 'neg_min_at',
    'neg_min_sample_id', 'neg_max_at', 'neg_max_sample_id', 'y_assigned_at', 'y_rule_id',
    'y_round_id', 'y_round_starts_at', 'y_round_ends_at'] -%}
{%- set state_types = {'code_since': t_ts(), 'pos_sampled_at': t_ts(), 'neg_min_at': t_ts(),
    'neg_max_at': t_ts(), 'y_assigned_at': t_ts(), 'y_round_starts_at': t_ts(),
    'y_round_ends_at': t_ts()} -%}

{%- set step_sql -%}
        e.person_key,
        e.event_seq,
        {%- for name, expr, typ in columns %}
        cast({{ expr }} as {{ typ }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
{%- endset %}

with events as (
    select * from {{ ref('int_code_events_proposed') }}
),

params as (
    select * from {{ ref('int_code_rules_pivoted') }}
),

initial_state as (
    select
        {%- for name in state_columns %}
        cast({% if name == 'code' %}'green'{% else %}null{% endif %} as {{ state_types.get(name, t_text()) }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
),

{# nested so that dbt can prepend unit-test fixtures to the outer with #}
stepped as (
    select * from (
        with recursive states as (
            select
                {{ step_sql }}
            from events as e
            cross join initial_state as p
            cross join params as r
            where e.event_seq = 1

            union all

            select
                {{ step_sql }}
            from states as p
            inner join events as e on e.person_key = p.person_key and e.event_seq = p.event_seq + 1
            cross join params as r
        )

        select * from states
    ) as machine
)

select * from stepped
