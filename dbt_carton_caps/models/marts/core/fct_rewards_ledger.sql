{# grain: one row per signed ledger entry (entry_id) #}
select
    entry_id,
    user_id,
    school_id,
    source_id,
    entry_type,
    source_type,
    amount_cents,
    {{ cents_to_dollars('amount_cents') }} as amount_dollars,
    created_date,
    created_at
from {{ ref('stg_event_exports__rewards_ledger') }}
