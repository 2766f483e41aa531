{# The business date being computed and the instant its business day ends. #}
{% macro business_date() -%}
    cast('{{ var("business_date") }}' as date)
{%- endmacro %}

{% macro business_day_end() -%}
    {{ local_day_start(dbt_date_add(business_date(), 1)) }}
{%- endmacro %}

{# A date plus n days, as a date. #}
{% macro dbt_date_add(date_expr, n) -%}
    {{ return(adapter.dispatch('dbt_date_add', 'zhongtai')(date_expr, n)) }}
{%- endmacro %}

{% macro default__dbt_date_add(date_expr, n) -%}
    cast(({{ date_expr }}) + cast({{ n }} as integer) as date)
{%- endmacro %}

{% macro postgres__dbt_date_add(date_expr, n) -%}
    cast(({{ date_expr }}) + cast({{ n }} as integer) as date)
{%- endmacro %}
