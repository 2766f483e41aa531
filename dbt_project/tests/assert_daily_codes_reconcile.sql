{# Yesterday's coded + assigned - cleared = today's coded (coded is computed from the states). #}
with days as (
    select
        business_date,
        coded,
        assigned,
        cleared,
        lag(coded) over (order by business_date) as coded_yesterday,
        row_number() over (order by business_date) as day_number
    from {{ ref('daily_summary') }}
)

select *
from days
where coalesce(coded_yesterday, 0) + assigned - cleared <> coded
