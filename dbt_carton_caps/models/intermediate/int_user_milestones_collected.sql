{# grain: one row per user (user_id) with the first time they reached each milestone #}
with

users as (

    select * from {{ ref('stg_app_db__users') }}

),

receipts as (

    select
        user_id,
        min(scanned_at) as first_accepted_receipt_at
    from {{ ref('stg_event_exports__receipts') }}
    where {{ is_accepted_receipt() }}
    group by user_id

),

rewards as (

    select
        user_id,
        min(created_at) as first_reward_at
    from {{ ref('stg_event_exports__rewards_ledger') }}
    where {{ is_reward_earned() }}
    group by user_id

),

feature_use as (

    select
        user_id,
        min(case when event_name = 'receipt_scan' then event_at end) as first_receipt_scan_at,
        min(case when event_name = 'referral_share' then event_at end)
            as first_referral_share_at,
        min(case when event_name = 'rewards_view' then event_at end) as first_rewards_view_at,
        min(case when event_name = 'redemption_request' then event_at end)
            as first_redemption_request_at
    from {{ ref('stg_event_exports__app_events') }}
    where user_id is not null
    group by user_id

),

final as (

    select
        users.user_id,
        users.installed_at,
        users.signed_up_at,
        users.school_linked_at,
        receipts.first_accepted_receipt_at,
        rewards.first_reward_at,
        feature_use.first_receipt_scan_at,
        feature_use.first_referral_share_at,
        feature_use.first_rewards_view_at,
        feature_use.first_redemption_request_at
    from users
    left join receipts on users.user_id = receipts.user_id
    left join rewards on users.user_id = rewards.user_id
    left join feature_use on users.user_id = feature_use.user_id

)

select * from final
