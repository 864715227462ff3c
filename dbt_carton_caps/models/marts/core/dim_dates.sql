{# grain: one row per calendar day (date_day) from the earliest install / school / ledger / event day
   to the run's as-of date #}
with

bounds as (

    select min(first_day) as first_day
    from (
        select min(cast(installed_at as date)) as first_day from {{ ref('stg_app_db__users') }}
        union all
        select min(cast(created_at as date)) from {{ ref('stg_app_db__schools') }}
        union all
        select min(created_date) from {{ ref('stg_event_exports__rewards_ledger') }}
        union all
        -- late-arriving events may predate every install: keep their days in the calendar
        select min(event_date) from {{ ref('stg_event_exports__app_events') }}
    ) as candidates

),

{#- 8192 days (~22 years) back from the as-of date is more than any run's history. -#}
numbers as (

    {{ dbt.generate_series(8192) }}

),

days as (

    select
        cast({{ dbt.dateadd('day', '-(generated_number - 1)', last_day()) }} as date)
            as date_day
    from numbers

),

final as (

    select
        days.date_day,
        {{ week_start('days.date_day') }} as week_start,
        {{ month_start('days.date_day') }} as month_start,
        cast(extract(year from days.date_day) as {{ dbt.type_int() }}) as year_number,
        cast(extract(month from days.date_day) as {{ dbt.type_int() }}) as month_number,
        cast(
            {{ dbt.datediff(week_start('days.date_day'), 'days.date_day', 'day') }} + 1
            as {{ dbt.type_int() }}
        ) as iso_day_of_week,
        {{ dbt.datediff(week_start('days.date_day'), 'days.date_day', 'day') }} >= 5
            as is_weekend,
        days.date_day = {{ last_day() }} as is_last_covered_day
    from days
    cross join bounds
    where days.date_day >= bounds.first_day

)

select * from final
