{#- Fails on every row where the boolean SQL expression is not true (null counts as false).
    With column_name, the expression is appended to the column: `column_name >= 0`. -#}
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not coalesce(
    {% if column_name is not none %}{{ column_name }} {% endif %}{{ expression }},
    false
)

{% endtest %}
