{#- The run's as-of date (CARTON_CAPS_AS_OF): the EXCLUSIVE end of the covered data, i.e.
    data runs up to as-of 00:00:00 UTC (the generator's convention). "Today" for metrics is
    therefore the last covered day, as_of - 1. Never use current_date in models. -#}
{#- Read at execution only: dbt records env vars read while parsing and re-parses every
    model that used one when its value changes, so a parse-time read would make every
    as-of date a new parse (pipeline/transform/parse_cache.py). -#}
{% macro as_of_value() -%}
    {%- if not execute -%}
        {{ return(var('as_of', '2025-06-30')) }}
    {%- endif -%}
    {{ return(var('as_of', env_var('CARTON_CAPS_AS_OF', '2025-06-30'))) }}
{%- endmacro %}

{#- The as-of date as a SQL date (exclusive end of the data). -#}
{% macro as_of_date() -%}
    cast('{{ as_of_value() }}' as date)
{%- endmacro %}

{#- The as-of instant: as-of date 00:00:00 UTC (exclusive upper bound for timestamps). -#}
{% macro as_of_ts() -%}
    cast('{{ as_of_value() }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The last covered (complete) day: as_of - 1; dim_dates and daily marts end here. -#}
{% macro last_day() -%}
    cast({{ dbt.dateadd('day', -1, as_of_date()) }} as date)
{%- endmacro %}
