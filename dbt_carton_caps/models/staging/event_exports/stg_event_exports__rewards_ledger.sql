{# grain: one row per signed ledger entry (entry_id); exact entry_id duplicates collapsed #}
with

latest as (

    {{ latest_row_per_key(source('event_exports', 'rewards_ledger'), 'entry_id',
                          '_ingested_at desc, created_at desc',
                          ref('base_event_exports__rewards_ledger_repeated_keys')) }}

),

renamed as (

    select
        cast(entry_id as {{ dbt.type_bigint() }}) as entry_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(school_id as {{ dbt.type_bigint() }}) as school_id,
        cast(source_id as {{ dbt.type_bigint() }}) as source_id,
        cast(entry_type as {{ dbt.type_string() }}) as entry_type,
        cast(source_type as {{ dbt.type_string() }}) as source_type,
        cast(amount_cents as {{ dbt.type_bigint() }}) as amount_cents,
        cast(created_at as date) as created_date,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
