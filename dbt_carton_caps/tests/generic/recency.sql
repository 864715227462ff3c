{#- Fails when the newest value of `field` is older than `interval` `datepart`s before the
    run's as-of date (end of day), i.e. the data stopped arriving. -#}
{% test recency(model, field, datepart, interval) %}

with

newest as (

    select max({{ field }}) as newest_value from {{ model }}

)

select *
from newest
where newest_value is null
   or newest_value < {{ dbt.dateadd(datepart, -1 * interval, as_of_ts()) }}

{% endtest %}
