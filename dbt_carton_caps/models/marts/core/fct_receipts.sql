{# grain: one row per scanned receipt (receipt_id) #}
with

receipts as (

    select * from {{ ref('stg_event_exports__receipts') }}

),

items as (

    select
        receipt_id,
        count(*) as item_count,
        sum(caps_earned) as caps_earned
    from {{ ref('stg_event_exports__receipt_items') }}
    group by receipt_id

)

select
    receipts.receipt_id,
    receipts.user_id,
    receipts.school_id,
    receipts.store_name,
    receipts.status,
    receipts.rejection_reason,
    receipts.ocr_confidence,
    receipts.total_cents,
    {{ cents_to_dollars('receipts.total_cents') }} as total_dollars,
    cast(coalesce(items.item_count, 0) as {{ dbt.type_bigint() }}) as item_count,
    cast(coalesce(items.caps_earned, 0) as {{ dbt.type_bigint() }}) as caps_earned,
    {{ cents_to_dollars('coalesce(items.caps_earned, 0)') }} as rewards_earned_dollars,
    receipts.status = 'accepted' as is_accepted,
    cast(receipts.scanned_at as date) as scanned_date,
    receipts.purchased_at,
    receipts.scanned_at
from receipts
left join items on receipts.receipt_id = items.receipt_id
