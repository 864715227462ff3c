{# grain: one row per ISO activity week (Monday) and feature #}
{#- weekly_active_users = distinct users with a foreground event in the week; feature_users =
    distinct users with that feature's event in the week (receipt_scan, referral_share,
    rewards_view, redemption_request); adoption_share = feature_users / weekly_active_users. -#}
with

activity as (

    select * from {{ ref('int_user_activity_daily') }}

),

weekly_users as (

    select
        activity_week,
        user_id,
        max(case when has_receipt_scan then 1 else 0 end) as used_receipt_scan,
        max(case when has_referral_share then 1 else 0 end) as used_referral_share,
        max(case when has_rewards_view then 1 else 0 end) as used_rewards_view,
        max(case when has_redemption_request then 1 else 0 end) as used_redemption_request
    from activity
    group by activity_week, user_id

),

weekly as (

    select
        activity_week,
        count(*) as weekly_active_users,
        sum(used_receipt_scan) as receipt_scan,
        sum(used_referral_share) as referral_share,
        sum(used_rewards_view) as rewards_view,
        sum(used_redemption_request) as redemption_request
    from weekly_users
    group by activity_week

),

features as (

    {% set features = ['receipt_scan', 'referral_share', 'rewards_view', 'redemption_request'] %}
    {% for feature in features %}
    select
        activity_week,
        '{{ feature }}' as feature,
        weekly_active_users,
        {{ feature }} as feature_users
    from weekly
    {{ 'union all' if not loop.last }}
    {% endfor %}

)

select
    activity_week,
    cast(feature as {{ dbt.type_string() }}) as feature,
    cast(weekly_active_users as {{ dbt.type_bigint() }}) as weekly_active_users,
    cast(feature_users as {{ dbt.type_bigint() }}) as feature_users,
    case
        when weekly_active_users > 0
            then cast(feature_users as {{ type_double() }}) / weekly_active_users
    end as adoption_share
from features
