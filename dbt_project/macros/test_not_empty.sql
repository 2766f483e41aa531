{# A model must have at least one row (no dbt_utils: the hub is not reachable). #}
{% test not_empty(model) %}
    select 1 as missing from (select count(*) as n from {{ model }}) as c where c.n = 0
{% endtest %}
