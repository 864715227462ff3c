{#-
    The monitoring layer's view of the sources (models/monitoring/): which tables it profiles
    per event-time day and how, derived from the generated source_declarations(), so a
    column added to foundation/source_tables.py is profiled without touching the models.
-#}

{#- Every source table that has an event-time day, as a dict: source_name, name, columns
    (as landed in raw), primary_key, money_columns (the *_cents columns), content_columns
    (the numeric, boolean and time columns but the primary key: a replayed row repeats
    them all, and they hash far faster than text) and either
    event_time (its own event-time column) or via (the table its first foreign key
    references that has one: fk_column, ref_name, ref_column, ref_time). receipt_items
    takes its receipt's scan time; products has no time of its own and none to borrow. -#}
{% macro monitored_sources() %}
    {%- set declared = source_declarations() -%}
    {%- set by_name = {} -%}
    {%- for table in declared -%}
        {%- do by_name.update({table.name: table}) -%}
    {%- endfor -%}
    {%- set monitored = [] -%}
    {%- for table in declared -%}
        {%- set found = namespace(via=none) -%}
        {%- if not table.event_time -%}
            {%- for column, target in table.foreign_keys.items() -%}
                {%- set ref_name, ref_column = target.split('.') -%}
                {%- if found.via is none and by_name[ref_name].event_time -%}
                    {%- set found.via = {
                        'fk_column': column, 'ref_name': ref_name, 'ref_column': ref_column,
                        'ref_source': by_name[ref_name].source_name,
                        'ref_time': by_name[ref_name].event_time} -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if table.event_time or found.via -%}
            {%- set money = [] -%}
            {%- for column in table.columns if column.endswith('_cents') -%}
                {%- do money.append(column) -%}
            {%- endfor -%}
            {%- set content = [] -%}
            {%- for column in table.columns
                if column != table.primary_key and table.types[column] not in ('text', 'json') -%}
                {%- do content.append(column) -%}
            {%- endfor -%}
            {%- do monitored.append({
                'source_name': table.source_name,
                'name': table.name,
                'columns': table.columns,
                'primary_key': table.primary_key,
                'money_columns': money,
                'content_columns': content,
                'event_time': table.event_time,
                'via': found.via}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(monitored) }}
{% endmacro %}


{#- A 64-bit hash of a row's values (nulls included), to count repeated rows: equal rows
    hash equally; distinct rows collide with negligible probability. -#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'carton_caps')(columns)) }}
{%- endmacro %}

{% macro duckdb__row_hash(columns) -%}
    {#- DuckDB-only: hash() of several values -#}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{% macro default__row_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '~')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}


{#- The slice columns of a grouping-sets aggregate over `dimensions`: dimension (the
    dimension's name, or 'all' for the total) and dimension_value ('all' for the total,
    '(null)' for a null value, so it never reads as the total). -#}
{% macro slice_columns(dimensions) -%}
    {%- if dimensions -%}
    case
        {%- for dimension in dimensions %}
        when grouping({{ dimension }}) = 0 then '{{ dimension }}'
        {%- endfor %}
        else 'all'
    end as dimension,
    case
        {%- for dimension in dimensions %}
        when grouping({{ dimension }}) = 0
            then coalesce(cast({{ dimension }} as {{ dbt.type_string() }}), '(null)')
        {%- endfor %}
        else 'all'
    end as dimension_value
    {%- else -%}
    'all' as dimension,
    'all' as dimension_value
    {%- endif -%}
{%- endmacro %}


{#- group by `key` alone (the total) and by `key` with each of `dimensions`. -#}
{% macro group_by_slices(key, dimensions) -%}
    {%- if dimensions -%}
    group by grouping sets (
        ({{ key }})
        {%- for dimension in dimensions %},
        ({{ key }}, {{ dimension }})
        {%- endfor %}
    )
    {%- else -%}
    group by {{ key }}
    {%- endif -%}
{%- endmacro %}


{#- A bucket of a row_hash() value in 0..(buckets - 1), to sample rows consistently: equal
    rows always fall in the same bucket. -#}
{% macro hash_bucket(hashed, buckets) -%}
    {{ return(adapter.dispatch('hash_bucket', 'carton_caps')(hashed, buckets)) }}
{%- endmacro %}

{% macro duckdb__hash_bucket(hashed, buckets) -%}
    {#- DuckDB-only: hash() is a UBIGINT; with a UBIGINT divisor the modulo stays 64-bit -#}
    ({{ hashed }} % cast({{ buckets }} as ubigint))
{%- endmacro %}

{% macro spark__hash_bucket(hashed, buckets) -%}
    pmod({{ hashed }}, {{ buckets }})
{%- endmacro %}

{% macro default__hash_bucket(hashed, buckets) -%}
    0
{%- endmacro %}
