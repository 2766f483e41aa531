{# A share rounded to 4 decimals, the same type (decimal(9,4)) on DuckDB and Postgres. #}
{% macro ratio(numerator, denominator) -%}
    cast(1.0 * ({{ numerator }}) / nullif({{ denominator }}, 0) as decimal(9, 4))
{%- endmacro %}
