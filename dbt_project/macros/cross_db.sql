{#
  The few SQL differences between DuckDB and Postgres, behind adapter.dispatch.
  default__ is DuckDB (the embedded default); postgres__ is dbt-postgres.
#}

{# Time-zone conversion: a timestamptz to the business (Asia/Shanghai) date. #}
{% macro local_date(ts) -%}
    {{ return(adapter.dispatch('local_date', 'zhongtai')(ts)) }}
{%- endmacro %}
{% macro default__local_date(ts) -%}
    cast(timezone('{{ var("timezone") }}', {{ ts }}) as date)
{%- endmacro %}
{% macro postgres__local_date(ts) -%}
    cast(({{ ts }}) at time zone '{{ var("timezone") }}' as date)
{%- endmacro %}

{# The instant a business-zone date begins, as a timestamptz. #}
{% macro local_day_start(date_expr) -%}
    {{ return(adapter.dispatch('local_day_start', 'zhongtai')(date_expr)) }}
{%- endmacro %}
{% macro default__local_day_start(date_expr) -%}
    timezone('{{ var("timezone") }}', cast({{ date_expr }} as timestamp))
{%- endmacro %}
{% macro postgres__local_day_start(date_expr) -%}
    (cast({{ date_expr }} as timestamp) at time zone '{{ var("timezone") }}')
{%- endmacro %}

{# Interval arithmetic: a timestamp plus a number of hours held in a column. #}
{% macro add_hours(ts, hours) -%}
    {{ return(adapter.dispatch('add_hours', 'zhongtai')(ts, hours)) }}
{%- endmacro %}
{% macro default__add_hours(ts, hours) -%}
    (({{ ts }}) + to_hours(cast({{ hours }} as bigint)))
{%- endmacro %}
{% macro postgres__add_hours(ts, hours) -%}
    (({{ ts }}) + make_interval(hours => cast({{ hours }} as integer)))
{%- endmacro %}

{# String aggregation in a fixed order. #}
{% macro str_agg(expr, sep, order_by) -%}
    {{ return(adapter.dispatch('str_agg', 'zhongtai')(expr, sep, order_by)) }}
{%- endmacro %}
{% macro default__str_agg(expr, sep, order_by) -%}
    string_agg(cast({{ expr }} as varchar), '{{ sep }}' order by {{ order_by }})
{%- endmacro %}
{% macro postgres__str_agg(expr, sep, order_by) -%}
    string_agg(cast({{ expr }} as text), '{{ sep }}' order by {{ order_by }})
{%- endmacro %}

{# One row per element of a delimited string (used with a lateral/cross join). #}
{% macro split_to_rows(expr, sep) -%}
    {{ return(adapter.dispatch('split_to_rows', 'zhongtai')(expr, sep)) }}
{%- endmacro %}
{% macro default__split_to_rows(expr, sep) -%}
    unnest(string_split({{ expr }}, '{{ sep }}'))
{%- endmacro %}
{% macro postgres__split_to_rows(expr, sep) -%}
    unnest(string_to_array({{ expr }}, '{{ sep }}'))
{%- endmacro %}

{#
  JSON text from key/expression pairs: json_text([('sample_ids', 'x.ids'), ...]).
  Built by hand (keys in the given order, no spaces) so both engines emit identical text.
#}
{% macro json_text(pairs) -%}
    ('{' || {% for k, v in pairs %}'"{{ k }}":' || coalesce({{ json_value(v) }}, 'null'){% if not loop.last %} || ',' || {% endif %}{% endfor %} || '}')
{%- endmacro %}

{% macro json_value(expr) -%}
    {{ return(adapter.dispatch('json_value', 'zhongtai')(expr)) }}
{%- endmacro %}
{% macro default__json_value(expr) -%}
    cast(to_json({{ expr }}) as varchar)
{%- endmacro %}
{% macro postgres__json_value(expr) -%}
    cast(to_json({{ expr }}) as text)
{%- endmacro %}

{# Every date from start to end (inclusive), one row each, column day. #}
{% macro date_spine(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('date_spine', 'zhongtai')(start_expr, end_expr)) }}
{%- endmacro %}
{% macro default__date_spine(start_expr, end_expr) -%}
    select cast(generate_series as date) as day
    from generate_series(cast({{ start_expr }} as timestamp), cast({{ end_expr }} as timestamp), interval 1 day)
{%- endmacro %}
{% macro postgres__date_spine(start_expr, end_expr) -%}
    select cast(g.d as date) as day
    from generate_series(cast({{ start_expr }} as timestamp), cast({{ end_expr }} as timestamp), interval '1 day') as g(d)
{%- endmacro %}

{# Portable type names used where a recursive CTE needs identical types in both terms. #}
{% macro t_text() %}{{ return('varchar') }}{% endmacro %}
{% macro t_ts() %}{{ return('timestamp with time zone') }}{% endmacro %}

{# Scope prefix of a 12-digit division code: the digits that its descendants share. #}
{% macro division_prefix(code) -%}
    case
        when right({{ code }}, 10) = '0000000000' then left({{ code }}, 2)
        when right({{ code }}, 8) = '00000000' then left({{ code }}, 4)
        when right({{ code }}, 6) = '000000' then left({{ code }}, 6)
        when right({{ code }}, 3) = '000' then left({{ code }}, 9)
        else {{ code }}
    end
{%- endmacro %}
