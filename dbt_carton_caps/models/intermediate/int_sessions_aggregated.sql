{# grain: one row per client session (session_id), built from its events. A view: its only
   consumer is fct_sessions, so the 8M-session table (at 1M users) is written once. #}
{{ config(materialized='view') }}
with

events as (

    select * from {{ ref('stg_event_exports__app_events') }}

),

sessions as (

    select
        session_id,
        max(user_id) as user_id,
        min(platform) as platform,
        max(app_version) as app_version,
        count(*) as event_count,
        cast(sum(case when is_foreground then 1 else 0 end) as {{ dbt.type_bigint() }})
            as foreground_event_count,
        min(event_at) as started_at,
        max(event_at) as ended_at
    from events
    group by session_id

),

final as (

    select
        session_id,
        user_id,
        platform,
        app_version,
        event_count,
        foreground_event_count,
        {{ dbt.datediff('started_at', 'ended_at', 'second') }} as duration_seconds,
        cast(started_at as date) as session_date,
        started_at,
        ended_at
    from sessions

)

select * from final
