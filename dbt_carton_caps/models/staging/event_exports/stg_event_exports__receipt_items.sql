{# grain: one row per receipt line (receipt_item_id); exact receipt_item_id duplicates collapsed #}
with

latest as (

    {{ latest_row_per_key(source('event_exports', 'receipt_items'), 'receipt_item_id',
                          '_ingested_at desc, receipt_id',
                          ref('base_event_exports__receipt_items_repeated_keys')) }}

),

renamed as (

    select
        cast(receipt_item_id as {{ dbt.type_bigint() }}) as receipt_item_id,
        cast(receipt_id as {{ dbt.type_bigint() }}) as receipt_id,
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(unit_price_cents as {{ dbt.type_int() }}) as unit_price_cents,
        cast(caps_earned as {{ dbt.type_int() }}) as caps_earned,
        cast(is_qualifying as {{ dbt.type_boolean() }}) as is_qualifying,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
