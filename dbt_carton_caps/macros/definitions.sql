{#- The definitions dbt_project.yml states once (vars), as the models use them. -#}

{#- Reward liability ageing buckets, youngest first: dicts with name, min_days, max_days
    (none: open-ended), label, note. -#}
{% macro liability_ageing_buckets() -%}
    {{ return(var('liability_ageing_buckets')) }}
{%- endmacro %}

{#- True when `age_days` falls in `bucket` (both bounds inclusive). -#}
{% macro in_ageing_bucket(bucket, age_days) -%}
    {%- if bucket.max_days is none -%}
        {{ age_days }} >= {{ bucket.min_days }}
    {%- else -%}
        {{ age_days }} between {{ bucket.min_days }} and {{ bucket.max_days }}
    {%- endif -%}
{%- endmacro %}

{#- The sum of a mart's ageing columns, `prefix` before each (e.g. 'liability.'): the
    buckets add up to the liability. -#}
{% macro ageing_columns_sum(prefix='') -%}
    {%- for bucket in liability_ageing_buckets() -%}
        {{ ' + ' if not loop.first }}{{ prefix }}aged_{{ bucket.name }}_dollars
    {%- endfor -%}
{%- endmacro %}

{#- A weekly cohort (week starting Monday in `week_column`) is complete when the window of
    `window_days` after its last possible member (the Sunday, week start + 6 days) has
    closed by the last covered day. -#}
{% macro is_cohort_window_closed(week_column, window_days) -%}
    cast({{ dbt.dateadd('day', window_days + 6, week_column) }} as date) <= {{ last_day() }}
{%- endmacro %}
