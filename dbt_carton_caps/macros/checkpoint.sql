{#
    Write everything the build produced into the database file before dbt reports success
    (on-run-end, dbt_project.yml). DuckDB otherwise keeps up to 16 MB of a build in its
    write-ahead log and checkpoints when the connection closes, after `dbt build` has
    already reported success: a disk too small for the built tables then fails a later
    step, far from its cause. On other engines there is nothing to do.
#}
{% macro checkpoint_database() %}
    {% if execute and target.type == 'duckdb' %}
        {% do run_query('checkpoint') %}
    {% endif %}
{% endmacro %}
