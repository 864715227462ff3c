{#- Causal rule: nothing happens after the as-of cut-off (as-of date 00:00 UTC, the exclusive
    end of the data). A timestamp after it is broken data (clock skew, bad export): error. -#}
{% set checks = [
    ('stg_event_exports__app_events', 'event_id', 'event_at'),
    ('stg_event_exports__receipts', 'receipt_id', 'scanned_at'),
    ('stg_event_exports__rewards_ledger', 'entry_id', 'created_at'),
    ('stg_app_db__users', 'user_id', 'installed_at'),
    ('stg_app_db__referrals', 'referral_id', 'sent_at'),
    ('stg_app_db__redemptions', 'redemption_id', 'requested_at'),
] %}
{% for model, key, column in checks %}
select
    '{{ model }}' as model_name,
    cast({{ key }} as {{ dbt.type_string() }}) as row_key,
    {{ column }} as happened_at
from {{ ref(model) }}
where {{ column }} >= {{ as_of_ts() }}
{{ 'union all' if not loop.last }}
{% endfor %}
