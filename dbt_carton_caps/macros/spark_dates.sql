{#-
    Spark versions of dbt's cross-database date macros, overriding dbt-spark's own (dbt
    dispatches `dbt.dateadd` / `dbt.datediff` to the root project's `spark__` macro first).
    dbt-spark builds both from to_unix_timestamp / to_timestamp round trips, which lose the
    time zone of TIMESTAMP_NTZ values (the session's timestamp type, the same as DuckDB's
    TIMESTAMP) and return wrong or null values under ANSI mode. These say what DuckDB means:
-#}

{#- dateadd: the calendar unit added to a date or timestamp, as DuckDB's `x + interval`. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{#- datediff: unit boundaries crossed from start to end, as DuckDB's date_diff (which
    counts boundaries, not whole elapsed units): both ends truncated to the unit first. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    timestampdiff({{ datepart }}, date_trunc('{{ datepart }}', {{ first_date }}),
        date_trunc('{{ datepart }}', {{ second_date }}))
{%- endmacro %}
