{# The numeric parameters of the active rule set, one row; list parameters are read in place. #}
with rules as (
    select * from {{ ref('stg_lake__code_rules') }}
),

pivoted as (
    select
        max(rule_set_version) as rule_set_version,
        max(case when rule_id = 'R1' and param = 'max_pool_size' then cast(value as integer) end)
            as r1_max_pool_size,
        max(case when rule_id = 'R1_CLEAR' and param = 'min_gap_hours' then cast(value as integer) end)
            as r1_clear_min_gap_hours,
        max(case when rule_id = 'R1_CLEAR' and param = 'required_negatives' then cast(value as integer) end)
            as r1_clear_required_negatives,
        max(case when rule_id = 'Y3' and param = 'min_pool_size' then cast(value as integer) end)
            as y3_min_pool_size
    from rules
)

select * from pivoted
