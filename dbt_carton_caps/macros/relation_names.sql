{#- Render ref() and source() without the database (catalog) part: schema.table only.
    The pipeline builds each snapshot under a temporary file name and renames it when the
    run succeeds; DuckDB names the catalog after the file, so a view that said
    "carton_caps_x.duckdb.building".raw.users would break after the rename. Views written
    as raw.users / staging.x keep working in the finished snapshot (and on Spark, where
    there is no catalog in the name either). -#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if relation is string -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(relation.include(database=false)) }}
{%- endmacro %}

{% macro source(source_name, table_name) -%}
    {{ return(builtins.source(source_name, table_name).include(database=false)) }}
{%- endmacro %}
