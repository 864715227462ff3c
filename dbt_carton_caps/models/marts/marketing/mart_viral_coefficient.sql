{# grain: one row per sign-up week cohort (ISO week, Monday) #}
{#- i = invites sent by cohort users within 30 days (30 x 24 h) of their own sign-up, per
    cohort user; c = share of those invites that became a qualified referred user
    (qualified_at set); K = i x c. Cycle time = median days (fractional) from the referrer's
    sign-up to the referred user's qualification, over those qualified invites.
    is_cohort_complete = the cohort's last sign-up + 30 days is on or before the as-of date. -#}
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
        funnel.is_qualified,
        case
            when funnel.is_qualified
                then {{ days_between('users.signed_up_at', 'funnel.qualified_at') }}
        end as cycle_time_days
    from {{ ref('int_referral_funnel_scored') }} as funnel
    inner join users on funnel.referrer_user_id = users.user_id
    where funnel.sent_at >= users.signed_up_at
      and funnel.sent_at <= {{ dbt.dateadd('day', 30, 'users.signed_up_at') }}

),

cohort_invites as (

    select
        signup_week,
        count(*) as invites_sent_30d,
        sum(case when is_qualified then 1 else 0 end) as qualified_referred_users,
        {{ percentile_cont('cycle_time_days', 0.5) }} as median_cycle_time_days
    from invites
    group by signup_week

),

final as (

    select
        cohorts.signup_week,
        cohorts.cohort_users,
        coalesce(cohort_invites.invites_sent_30d, 0) as invites_sent_30d,
        coalesce(cohort_invites.qualified_referred_users, 0) as qualified_referred_users,
        cohort_invites.median_cycle_time_days
    from cohorts
    left join cohort_invites on cohorts.signup_week = cohort_invites.signup_week

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
    cast(median_cycle_time_days as {{ type_double() }}) as median_cycle_time_days,
    cast({{ dbt.dateadd('day', 36, 'signup_week') }} as date) <= {{ last_day() }}
        as is_cohort_complete
from final
