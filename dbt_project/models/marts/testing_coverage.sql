{# Per round, community and grid: residents in scope, tested, and not tested (应检未检), as known now. #}
with round_residents as (
    select * from {{ ref('int_round_residents') }}
),

coverage as (
    select
        round_id,
        max(round_name) as round_name,
        community_code,
        grid_id,
        max(starts_at) as starts_at,
        max(ends_at) as ends_at,
        bool_or(is_round_ended) as is_round_ended,
        count(*) as residents_in_scope,
        sum(case when is_tested then 1 else 0 end) as tested,
        sum(case when is_tested then 0 else 1 end) as not_tested,
        {{ business_date() }} as as_of_date
    from round_residents
    group by round_id, community_code, grid_id
),

rated as (
    select
        *,
        {{ ratio('tested', 'residents_in_scope') }} as coverage_rate
    from coverage
)

select * from rated
