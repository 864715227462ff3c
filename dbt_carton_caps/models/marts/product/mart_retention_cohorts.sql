{# grain: one row per sign-up week cohort (ISO week, Monday) and weeks_since_signup #}
{#- weeks_since_signup = (ISO week of activity - ISO week of sign-up) / 7, so week 0 is the
    sign-up week; active = at least one foreground event in that week; retention =
    active_users / cohort_users. Every week from 0 to the as-of week is listed. -#}
with

users as (

    select user_id, {{ week_start('signed_up_at') }} as signup_week
    from {{ ref('stg_app_db__users') }}
    where signed_up_at is not null

),

cohorts as (

    select signup_week, count(*) as cohort_users
    from users
    group by signup_week

),

weeks as (

    select distinct week_start from {{ ref('dim_dates') }}

),

grid as (

    select
        cohorts.signup_week,
        cohorts.cohort_users,
        weeks.week_start as activity_week,
        {{ dbt.datediff('cohorts.signup_week', 'weeks.week_start', 'day') }} / 7
            as weeks_since_signup
    from cohorts
    inner join weeks on weeks.week_start >= cohorts.signup_week

),

active as (

    select
        users.signup_week,
        activity.activity_week,
        count(distinct activity.user_id) as active_users
    from {{ ref('int_user_activity_daily') }} as activity
    inner join users on activity.user_id = users.user_id
    where activity.activity_week >= users.signup_week
    group by users.signup_week, activity.activity_week

)

select
    grid.signup_week,
    cast(grid.weeks_since_signup as {{ dbt.type_int() }}) as weeks_since_signup,
    grid.activity_week,
    cast(grid.cohort_users as {{ dbt.type_bigint() }}) as cohort_users,
    cast(coalesce(active.active_users, 0) as {{ dbt.type_bigint() }}) as active_users,
    cast(coalesce(active.active_users, 0) as {{ type_double() }}) / grid.cohort_users
        as retention
from grid
left join active
    on grid.signup_week = active.signup_week
    and grid.activity_week = active.activity_week
