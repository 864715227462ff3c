{# grain: one row per scanned receipt (receipt_id); exact receipt_id duplicates collapsed #}
with

latest as (

    {{ latest_row_per_key(source('event_exports', 'receipts'), 'receipt_id',
                          '_ingested_at desc, scanned_at desc',
                          ref('base_event_exports__receipts_repeated_keys')) }}

),

renamed as (

    select
        cast(receipt_id as {{ dbt.type_bigint() }}) as receipt_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(school_id as {{ dbt.type_bigint() }}) as school_id,
        cast(store_name as {{ dbt.type_string() }}) as store_name,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(rejection_reason as {{ dbt.type_string() }}) as rejection_reason,
        cast(ocr_confidence as {{ type_double() }}) as ocr_confidence,
        cast(total_cents as {{ dbt.type_bigint() }}) as total_cents,
        cast(purchased_at as {{ dbt.type_timestamp() }}) as purchased_at,
        cast(scanned_at as {{ dbt.type_timestamp() }}) as scanned_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
