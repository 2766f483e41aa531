{# Every code change (assign, clear, escalate) up to the end of the business day, with its rule and evidence. #}
with changes as (
    select * from {{ ref('int_person_code_states') }}
    where is_change
),

versions as (
    select rule_id, max(rule_version) as rule_version
    from {{ ref('int_code_rule_versions') }}
    group by rule_id
),

events as (
    select
        c.person_key,
        c.event_at,
        {{ local_date('c.event_at') }} as event_date,
        c.from_code,
        c.code as to_code,
        c.transition_rule_id as rule_id,
        v.rule_version,
        c.evidence_sample_ids,
        c.evidence_round_id,
        c.evidence_appeal_id,
        {{ json_text([('sample_ids', 'c.evidence_sample_ids'), ('round_id', 'c.evidence_round_id'),
                      ('appeal_id', 'c.evidence_appeal_id')]) }} as evidence,
        c.event_seq,
        {{ business_date() }} as as_of_date
    from changes as c
    left join versions as v on v.rule_id = c.transition_rule_id
)

select * from events
