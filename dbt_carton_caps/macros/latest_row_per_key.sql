{#- The latest row of each key of a raw relation: every staging model's deduplication.

    A row whose key occurs once is its own latest row, so only the rows of a key that occurs
    more than once (and rows with a null key, which row_number() ranks as one partition) go
    through the window. Ranking every row instead sorts the whole relation, with every
    column, each time a reader selects from the staging view. At 1,000,000 users the ten
    readers of the app-events view spent 61 s in that window and 29 s with this macro (the
    sessionisation alone: 34 s and 10 s). The keys that occur more than once are counted
    by a window over the key alone (half the time of a GROUP BY over 15 M distinct keys)
    and are few (none on a clean load), so both branches are cheap. Plain joins, not
    EXISTS: DuckDB plans a correlated NOT EXISTS as a join on every distinct key of the
    outer side, which cost more than the window it replaces.

    `repeated_keys_relation` (optional) is a table of those keys built once per run by
    `repeated_keys()` (the event exports' base models). Without it every read of the view
    counts them again over every key. On a copy of a 1,000,000-user snapshot, reads of the
    app-events view took 1.8 to 3.6 s (a row count, the earliest day, an accepted-values
    test) and 0.2 to 0.4 s with the keys read from the table; the sessionisation's
    aggregation 2.9 to 3.1 s and 1.9 s. The data tests' SQL, most of them readers of these
    views, went from 23 to 30 s to 17 to 18 s. The table is as current as the raw relation:
    the loader writes each raw relation once per snapshot, before dbt builds the keys and
    everything that reads them. The app database's views count their own keys: their
    largest table has one row per user, a fifteenth of the app events.

    The result is the same set of rows as ranking the whole relation: a unique key keeps
    its only row; a repeated or null key keeps the row ranked first by `order_by`.
    `_row_rank` stays in the output (always 1) so that a model's columns do not depend on
    which branch a row came from. -#}
{% macro latest_row_per_key(relation, key, order_by, repeated_keys_relation=none) -%}
with

repeated_keys as (

    {% if repeated_keys_relation is none -%}
    {{ repeated_keys(relation, key) }}
    {%- else -%}
    select repeated_key from {{ repeated_keys_relation }}
    {%- endif %}

),

unique_key_rows as (

    select source.*, 1 as _row_rank
    from {{ relation }} as source
    left join repeated_keys on repeated_keys.repeated_key = source.{{ key }}
    where source.{{ key }} is not null
        and repeated_keys.repeated_key is null

),

repeated_key_rows as (

    select source.*
    from {{ relation }} as source
    inner join repeated_keys on repeated_keys.repeated_key = source.{{ key }}

    union all

    select source.*
    from {{ relation }} as source
    where source.{{ key }} is null

),

ranked as (

    select
        repeated_key_rows.*,
        row_number() over (
            partition by {{ key }}
            order by {{ order_by }}
        ) as _row_rank
    from repeated_key_rows

)

select * from unique_key_rows
union all
select * from ranked where _row_rank = 1
{%- endmacro %}


{#- The non-null keys of `relation` that occur more than once, one row each
    (`repeated_key`). Null keys are not among them: latest_row_per_key ranks them in a branch
    of their own. -#}
{% macro repeated_keys(relation, key) -%}
select distinct {{ key }} as repeated_key
from (
    select {{ key }}, count(*) over (partition by {{ key }}) as key_rows
    from {{ relation }}
    where {{ key }} is not null
) as counted
where key_rows > 1
{%- endmacro %}
