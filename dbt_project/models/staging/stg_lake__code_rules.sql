with rules as (
    select
        rule_set,
        rule_set_version,
        rule_id,
        rule_version,
        action,
        code,
        param,
        value,
        value_index
    from {{ source('lake', 'code_rules') }}
    where rule_set = '{{ var("code_rule_set") }}'
)

select * from rules
