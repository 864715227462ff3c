{#-
    Adapter-dispatched macros. This is the ONLY place with engine-specific SQL:
    each macro has a `duckdb__` implementation (DuckDB-only syntax, marked) and a
    portable `default__` / `spark__` implementation, so models stay ANSI + dbt.* macros.
-#}

{#- Continuous percentile (linear interpolation) as an aggregate. -#}
{% macro percentile_cont(column, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'carton_caps')(column, fraction)) }}
{%- endmacro %}

{% macro duckdb__percentile_cont(column, fraction) -%}
    {#- DuckDB-only: quantile_cont() -#}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile_cont(column, fraction) -%}
    percentile({{ column }}, {{ fraction }})
{%- endmacro %}

{% macro default__percentile_cont(column, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}


{#- numerator / denominator as a double on every engine. An integer over a decimal literal
    (`n / 60.0`) is a double on DuckDB but a decimal on Spark, rounded to 6 places
    (70 / 60.0 = 1.166667): casting the numerator first makes both engines divide in
    doubles and agree to the last bit. -#}
{% macro float_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / {{ denominator }})
{%- endmacro %}


{#- Elapsed time in fractional days between two timestamps (end - start), a double on every
    engine (float_divide: not Spark's 6-place decimal). -#}
{% macro days_between(start_ts, end_ts) -%}
    {{ float_divide(dbt.datediff(start_ts, end_ts, 'second'), 86400) }}
{%- endmacro %}


{#- Cents (integer) to dollars decimal(12,2). -#}
{% macro cents_to_dollars(column) -%}
    cast(({{ column }}) / 100.0 as decimal(12, 2))
{%- endmacro %}


{#- Calendar date of a timestamp. -#}
{% macro to_date(column) -%}
    cast({{ column }} as date)
{%- endmacro %}


{#- ISO week start (Monday) of a timestamp or date, as a date. -#}
{% macro week_start(column) -%}
    cast({{ dbt.date_trunc('week', column) }} as date)
{%- endmacro %}


{#- First day of the month of a timestamp or date, as a date. -#}
{% macro month_start(column) -%}
    cast({{ dbt.date_trunc('month', column) }} as date)
{%- endmacro %}


{#- 64-bit floating point type name (dbt.type_float() is 32-bit FLOAT on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'carton_caps')()) }}
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}


{#- Every column of every table in a schema, as (table_name, column_name) rows. DuckDB has
    information_schema; Spark's session catalog has none, so there the rows are listed at
    run time from the catalog (show tables / describe) and inlined as values. -#}
{% macro schema_columns(schema_name) -%}
    {{ return(adapter.dispatch('schema_columns', 'carton_caps')(schema_name)) }}
{%- endmacro %}

{% macro default__schema_columns(schema_name) -%}
    select table_name, column_name
    from information_schema.columns
    where lower(table_schema) = '{{ schema_name }}'
{%- endmacro %}

{% macro spark__schema_columns(schema_name) -%}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- for table in run_query('show tables in ' ~ schema_name).columns['tableName'].values() -%}
            {%- set relation = api.Relation.create(schema=schema_name, identifier=table) -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- do rows.append("('" ~ table ~ "', '" ~ column.name ~ "')") -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if rows -%}
    select * from values {{ rows | join(', ') }} as listed(table_name, column_name)
    {%- else -%}
    select cast(null as string) as table_name, cast(null as string) as column_name where false
    {%- endif -%}
{%- endmacro %}
