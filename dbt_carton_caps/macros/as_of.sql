{#- The run's as-of date: "today" for every metric. Never use current_date in models. -#}
{% macro as_of_value() -%}
    {{ return(var('as_of', env_var('CARTON_CAPS_AS_OF', '2025-06-30'))) }}
{%- endmacro %}

{#- The as-of date as a SQL date literal. -#}
{% macro as_of_date() -%}
    cast('{{ as_of_value() }}' as date)
{%- endmacro %}

{#- End of the as-of day (exclusive upper bound for timestamps): as_of + 1 day at 00:00. -#}
{% macro as_of_end_ts() -%}
    {{ dbt.dateadd('day', 1, "cast('" ~ as_of_value() ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}
