{# grain: one row per balance date and school (school_id); balance dates are the last day of
   every ISO week (Sunday) plus the as-of date for the current, incomplete week #}
{#- Liability of a school at d = sum of the signed ledger entries attributed to that school
    (the entry's school_id: the user's linked school when the entry was made) created on or
    before d. Entries without a school (user not linked) are not attributable and are not in
    this model; mart_reward_liability_daily holds the total. -#}
with

ledger as (

    select * from {{ ref('stg_event_exports__rewards_ledger') }}
    where school_id is not null

),

balance_dates as (

    select distinct
        case
            when cast({{ dbt.dateadd('day', 6, 'week_start') }} as date) <= {{ last_day() }}
                then cast({{ dbt.dateadd('day', 6, 'week_start') }} as date)
            else {{ last_day() }}
        end as balance_date
    from {{ ref('dim_dates') }}

),

school_changes as (

    select
        school_id,
        case
            when cast({{ dbt.dateadd('day', 6, week_start('created_date')) }} as date)
                <= {{ last_day() }}
                then cast({{ dbt.dateadd('day', 6, week_start('created_date')) }} as date)
            else {{ last_day() }}
        end as balance_date,
        sum(amount_cents) as change_cents
    from ledger
    where created_date <= {{ last_day() }}
    group by 1, 2

),

school_first as (

    select school_id, min(balance_date) as first_balance_date
    from school_changes
    group by school_id

),

grid as (

    select school_first.school_id, balance_dates.balance_date
    from school_first
    inner join balance_dates on balance_dates.balance_date >= school_first.first_balance_date

),

balances as (

    select
        grid.balance_date,
        grid.school_id,
        sum(coalesce(school_changes.change_cents, 0)) over (
            partition by grid.school_id
            order by grid.balance_date
            rows between unbounded preceding and current row
        ) as liability_cents
    from grid
    left join school_changes
        on grid.school_id = school_changes.school_id
        and grid.balance_date = school_changes.balance_date

)

select
    balances.balance_date,
    balances.school_id,
    schools.state,
    {{ cents_to_dollars('balances.liability_cents') }} as liability_dollars,
    balances.balance_date = {{ last_day() }} as is_latest_balance
from balances
left join {{ ref('stg_app_db__schools') }} as schools on balances.school_id = schools.school_id
