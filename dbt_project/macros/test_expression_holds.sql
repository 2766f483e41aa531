{# Every row satisfies a boolean expression (rows where it does not are the failures). #}
{% test expression_holds(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
