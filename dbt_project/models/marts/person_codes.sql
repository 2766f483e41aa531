{# The code of every resident at the end of the business day (green without a row in code_events). #}
with residents as (
    select * from {{ ref('int_persons_routed') }}
    where is_resident
),

last_states as (
    select
        *,
        row_number() over (partition by person_key order by event_seq desc) as recency
    from {{ ref('int_person_code_states') }}
),

versions as (
    select rule_id, max(rule_version) as rule_version
    from {{ ref('int_code_rule_versions') }}
    group by rule_id
),

codes as (
    select
        r.person_key,
        {{ business_date() }} as as_of_date,
        coalesce(s.code, 'green') as code,
        s.code_since as since,
        s.code_rule_id as rule_id,
        v.rule_version,
        r.id_masked,
        r.name_masked,
        r.community_code,
        r.grid_id
    from residents as r
    left join last_states as s on s.person_key = r.person_key and s.recency = 1
    left join versions as v on v.rule_id = s.code_rule_id
)

select * from codes
