{# grain: one row per payout request (redemption_id) #}
select
    redemption_id,
    user_id,
    school_id,
    status,
    amount_cents,
    {{ cents_to_dollars('amount_cents') }} as amount_dollars,
    status = 'paid' as is_paid,
    cast(requested_at as date) as requested_date,
    requested_at,
    paid_at
from {{ ref('stg_app_db__redemptions') }}
