{# grain: one row per sign-up-week cohort (signup_week, ISO week Monday) and weeks_since_signup #}
{#- Cohort = ISO week (Monday) of the user's sign-up (UTC). Week N of a user =
    floor((activity day - sign-up day) / 7) in whole UTC calendar days, so days 0-6 after
    the sign-up day are week 0, days 7-13 week 1, ... (relative to each user's own sign-up
    day, not to calendar weeks). Active in week N = at least one foreground event on one of
    those days; activity before the sign-up day is ignored. retention = active_users /
    cohort_users (every signed-up user of the week). Rows: N = 0 up to the last week that
    has started for the cohort's first member by the last covered day (as-of - 1).
    is_complete: week N has been fully observed (its last day, sign-up day + 7N + 6, is on or
    before the last covered day) for every member, i.e. for the cohort's last sign-up. -#}
with

users as (

    select
        user_id,
        cast(signed_up_at as date) as signup_date,
        {{ week_start('signed_up_at') }} as signup_week
    from {{ ref('stg_app_db__users') }}
    where signed_up_at is not null

),

cohorts as (

    select
        signup_week,
        count(*) as cohort_users,
        min(signup_date) as first_signup_date,
        max(signup_date) as last_signup_date
    from users
    group by signup_week

),

numbers as (

    {{ dbt.generate_series(1200) }}

),

grid as (

    select
        cohorts.signup_week,
        cohorts.cohort_users,
        cohorts.last_signup_date,
        numbers.generated_number - 1 as weeks_since_signup
    from cohorts
    cross join numbers
    where cast({{ dbt.dateadd('day', '7 * (numbers.generated_number - 1)',
                              'cohorts.first_signup_date') }} as date) <= {{ last_day() }}

),

activity as (

    select
        users.signup_week,
        activity.user_id,
        cast(
            floor({{ dbt.datediff('users.signup_date', 'activity.activity_date', 'day') }} / 7.0)
            as {{ dbt.type_int() }}
        ) as weeks_since_signup
    from {{ ref('int_user_activity_daily') }} as activity
    inner join users on activity.user_id = users.user_id
    where activity.activity_date >= users.signup_date
      and activity.activity_date <= {{ last_day() }}

),

active as (

    select signup_week, weeks_since_signup, count(distinct user_id) as active_users
    from activity
    group by signup_week, weeks_since_signup

)

select
    grid.signup_week,
    cast(grid.weeks_since_signup as {{ dbt.type_int() }}) as weeks_since_signup,
    cast(grid.cohort_users as {{ dbt.type_bigint() }}) as cohort_users,
    cast(coalesce(active.active_users, 0) as {{ dbt.type_bigint() }}) as active_users,
    cast(coalesce(active.active_users, 0) as {{ type_double() }}) / grid.cohort_users
        as retention,
    cast({{ dbt.dateadd('day', '7 * grid.weeks_since_signup + 6', 'grid.last_signup_date') }}
        as date) <= {{ last_day() }} as is_complete
from grid
left join active
    on grid.signup_week = active.signup_week
    and grid.weeks_since_signup = active.weeks_since_signup
