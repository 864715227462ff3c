{# grain: one row per client session (session_id) #}
select
    session_id,
    user_id,
    platform,
    app_version,
    event_count,
    foreground_event_count,
    duration_seconds,
    session_date,
    started_at,
    ended_at
from {{ ref('int_sessions_aggregated') }}
