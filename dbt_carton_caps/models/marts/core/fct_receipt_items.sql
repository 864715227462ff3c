{# grain: one row per receipt line (receipt_item_id) #}
with

items as (

    select * from {{ ref('stg_event_exports__receipt_items') }}

),

receipts as (

    select receipt_id, user_id, status, scanned_at from {{ ref('stg_event_exports__receipts') }}

)

select
    items.receipt_item_id,
    items.receipt_id,
    items.product_id,
    receipts.user_id,
    receipts.status as receipt_status,
    items.quantity,
    items.unit_price_cents,
    cast(items.quantity as {{ dbt.type_bigint() }}) * items.unit_price_cents as line_total_cents,
    items.caps_earned,
    items.is_qualifying,
    receipts.scanned_at
from items
left join receipts on items.receipt_id = receipts.receipt_id
