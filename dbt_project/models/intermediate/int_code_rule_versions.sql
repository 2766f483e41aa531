with versions as (
    select distinct rule_id, rule_version, action, code
    from {{ ref('stg_lake__code_rules') }}
)

select * from versions
