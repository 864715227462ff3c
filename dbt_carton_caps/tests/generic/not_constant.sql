{#- Fails when a column holds one single distinct value over a non-empty model. -#}
{% test not_constant(model, column_name) %}

select count(distinct {{ column_name }}) as distinct_values
from {{ model }}
having count(*) > 0 and count(distinct {{ column_name }}) <= 1

{% endtest %}
