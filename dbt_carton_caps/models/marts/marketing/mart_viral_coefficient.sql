{# grain: one row per sign-up week cohort (ISO week, Monday) #}
{#- i = invites sent by cohort users within var viral_invite_window_days (inclusive, to the
    second) of their own sign-up, per cohort user; c = share of those invites that became a
    qualified referred user (qualified_at set); K = i x c. Viral cycle time = median days
    (fractional) from the referrer's sign-up to the referred user's qualification over ALL
    qualified referrals of the cohort's users, whenever the invite was sent (not only the
    window's invites of i and c). is_cohort_complete = the window after the cohort's last
    possible sign-up (Sunday) has closed by the last covered day (as-of date - 1).
    docs/design.md#viral-coefficient -#}
{%- set window_days = var('viral_invite_window_days') -%}
with

users as (

    select user_id, signed_up_at, {{ week_start('signed_up_at') }} as signup_week
    from {{ ref('stg_app_db__users') }}
    where signed_up_at is not null

),

cohorts as (

    select signup_week, count(*) as cohort_users
    from users
    group by signup_week

),

invites as (

    select
        users.signup_week,
        funnel.is_qualified
    from {{ ref('int_referral_funnel_scored') }} as funnel
    inner join users on funnel.referrer_user_id = users.user_id
    where funnel.sent_at >= users.signed_up_at
      and funnel.sent_at <= {{ dbt.dateadd('day', window_days, 'users.signed_up_at') }}

),

{#- every qualified referral of a cohort user, whenever sent: the cycle-time sample -#}
cycles as (

    select
        users.signup_week,
        count(*) as qualified_referrals_any_time,
        {{ percentile_cont(days_between('users.signed_up_at', 'funnel.qualified_at'), 0.5) }}
            as median_cycle_time_days
    from {{ ref('int_referral_funnel_scored') }} as funnel
    inner join users on funnel.referrer_user_id = users.user_id
    where funnel.is_qualified
      and funnel.qualified_at is not null
    group by users.signup_week

),

cohort_invites as (

    select
        signup_week,
        count(*) as invites_sent_30d,
        sum(case when is_qualified then 1 else 0 end) as qualified_referred_users
    from invites
    group by signup_week

),

final as (

    select
        cohorts.signup_week,
        cohorts.cohort_users,
        coalesce(cohort_invites.invites_sent_30d, 0) as invites_sent_30d,
        coalesce(cohort_invites.qualified_referred_users, 0) as qualified_referred_users,
        coalesce(cycles.qualified_referrals_any_time, 0) as qualified_referrals_any_time,
        cycles.median_cycle_time_days
    from cohorts
    left join cohort_invites on cohorts.signup_week = cohort_invites.signup_week
    left join cycles on cohorts.signup_week = cycles.signup_week

)

select
    signup_week,
    cast(cohort_users as {{ dbt.type_bigint() }}) as cohort_users,
    cast(invites_sent_30d as {{ dbt.type_bigint() }}) as invites_sent_30d,
    cast(qualified_referred_users as {{ dbt.type_bigint() }}) as qualified_referred_users,
    cast(invites_sent_30d as {{ type_double() }}) / cohort_users as invites_per_user,
    case
        when invites_sent_30d > 0
            then cast(qualified_referred_users as {{ type_double() }}) / invites_sent_30d
    end as invite_conversion,
    cast(qualified_referred_users as {{ type_double() }}) / cohort_users as k_factor,
    cast(qualified_referrals_any_time as {{ dbt.type_bigint() }})
        as qualified_referrals_any_time,
    cast(median_cycle_time_days as {{ type_double() }}) as median_cycle_time_days,
    {{ is_cohort_window_closed('signup_week', window_days) }} as is_cohort_complete
from final
