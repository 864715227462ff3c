{# grain: one row per calendar day (activity_date) from the first day to the as-of date #}
{#- DAU / WAU / MAU without a users x days cross join: each active day a of a user "covers"
    the window days [a, a + 6] (WAU) or [a, a + 27] (MAU); per user the union of those
    windows is split into non-overlapping pieces starting at greatest(a, previous a + N),
    so the number of distinct users covering day d is a running sum of +1/-1 deltas. -#}
with

dates as (

    select date_day from {{ ref('dim_dates') }}

),

activity as (

    select
        user_id,
        activity_date,
        lag(activity_date) over (partition by user_id order by activity_date) as previous_date
    from {{ ref('int_user_activity_daily') }}

),

dau as (

    select activity_date, count(*) as dau
    from activity
    group by activity_date

),

{% set windows = {'wau': var('wau_window_days'), 'mau': var('mau_window_days')} %}
{% for name, days in windows.items() %}
{{ name }}_deltas as (

    select delta_date, sum(delta) as delta
    from (
        select
            case
                when previous_date is null
                    or cast({{ dbt.dateadd('day', days, 'previous_date') }} as date)
                        <= activity_date
                    then activity_date
                else cast({{ dbt.dateadd('day', days, 'previous_date') }} as date)
            end as delta_date,
            1 as delta
        from activity
        union all
        select cast({{ dbt.dateadd('day', days, 'activity_date') }} as date), -1
        from activity
    ) as pieces
    group by delta_date

),
{% endfor %}

final as (

    select
        dates.date_day as activity_date,
        coalesce(dau.dau, 0) as dau,
        sum(coalesce(wau_deltas.delta, 0)) over (
            order by dates.date_day rows between unbounded preceding and current row
        ) as wau,
        sum(coalesce(mau_deltas.delta, 0)) over (
            order by dates.date_day rows between unbounded preceding and current row
        ) as mau
    from dates
    left join dau on dates.date_day = dau.activity_date
    left join wau_deltas on dates.date_day = wau_deltas.delta_date
    left join mau_deltas on dates.date_day = mau_deltas.delta_date

)

select
    activity_date,
    cast(dau as {{ dbt.type_bigint() }}) as dau,
    cast(wau as {{ dbt.type_bigint() }}) as wau,
    cast(mau as {{ dbt.type_bigint() }}) as mau,
    case when mau > 0 then cast(dau as {{ type_double() }}) / mau end as stickiness
from final
