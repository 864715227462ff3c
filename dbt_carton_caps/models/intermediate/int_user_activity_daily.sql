{# grain: one row per user per day with at least one foreground event (an "active day").
   Foreground event = any app event except app_install; events without user_id (before
   sign-up) do not make a user active. #}
with

events as (

    select * from {{ ref('stg_event_exports__app_events') }}
    where user_id is not null
      and is_foreground

),

daily as (

    select
        user_id,
        event_date as activity_date,
        count(*) as foreground_event_count,
        max(case when event_name = 'app_open' then 1 else 0 end) as has_app_open,
        max(case when event_name = 'receipt_scan' then 1 else 0 end) as has_receipt_scan,
        max(case when event_name = 'referral_share' then 1 else 0 end) as has_referral_share,
        max(case when event_name = 'rewards_view' then 1 else 0 end) as has_rewards_view,
        max(case when event_name = 'redemption_request' then 1 else 0 end)
            as has_redemption_request
    from events
    group by user_id, event_date

)

select
    user_id,
    foreground_event_count,
    has_app_open = 1 as has_app_open,
    has_receipt_scan = 1 as has_receipt_scan,
    has_referral_share = 1 as has_referral_share,
    has_rewards_view = 1 as has_rewards_view,
    has_redemption_request = 1 as has_redemption_request,
    activity_date,
    {{ week_start('activity_date') }} as activity_week
from daily
