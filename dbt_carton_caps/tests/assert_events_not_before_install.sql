{{ config(severity='warn') }}
{#- Business anomaly (warn): an account's event timestamped before that account's first
    install arrived late or with a skewed clock. Metrics keep the event on its own day. -#}
select
    events.event_id,
    events.user_id,
    events.event_at,
    users.installed_at
from {{ ref('stg_event_exports__app_events') }} as events
inner join {{ ref('stg_app_db__users') }} as users on events.user_id = users.user_id
where events.event_at < users.installed_at
