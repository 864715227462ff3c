{# grain: one row per referral invite (referral_id) with every funnel stage it reached,
   the 48-hour rule and the rejection reason #}
with

referrals as (

    select * from {{ ref('stg_app_db__referrals') }}

),

users as (

    select user_id, device_id, signed_up_at from {{ ref('stg_app_db__users') }}

),

scored as (

    select
        referrals.referral_id,
        referrals.referrer_user_id,
        referrals.referred_user_id,
        referrals.channel,
        referrals.status,
        referrals.rejection_reason,
        {#- a double on every engine: Spark divides by a 3600.0 literal as a decimal -#}
        cast({{ dbt.datediff('referrals.installed_at', 'referrals.applied_at', 'second') }}
            as {{ type_double() }}) / 3600 as hours_install_to_apply,
        referrals.clicked_at is not null as is_clicked,
        referrals.installed_at is not null as is_installed,
        referrals.applied_at is not null as is_applied,
        (
            referrals.applied_at is not null
            and referrals.installed_at is not null
            and {{ dbt.datediff('referrals.installed_at', 'referrals.applied_at', 'second') }}
                <= {{ var('referral_apply_window_hours') }} * 3600
        ) as is_applied_within_48h,
        referrals.onboarded_at is not null as is_onboarded,
        referrals.qualified_at is not null as is_qualified,
        referrals.status = 'rejected' as is_rejected,
        coalesce(
            referrals.referred_user_id = referrals.referrer_user_id
            or referred.device_id = referrer.device_id,
            false
        ) as is_self_referral,
        {{ week_start('referrals.sent_at') }} as sent_week,
        referrals.sent_at,
        referrals.clicked_at,
        referrals.installed_at,
        referrals.applied_at,
        referrals.onboarded_at,
        referrals.qualified_at,
        referrer.signed_up_at as referrer_signed_up_at
    from referrals
    left join users as referrer on referrals.referrer_user_id = referrer.user_id
    left join users as referred on referrals.referred_user_id = referred.user_id

)

select * from scored
