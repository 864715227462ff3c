{#- Finance rule: the reported liability equals the ledger to the cent on every day, the
    ageing buckets add up to it, and the by-school liability at the as-of date equals the
    ledger entries attributed to a school. -#}
with

ledger_daily as (

    select created_date, sum(amount_cents) as net_cents
    from {{ ref('fct_rewards_ledger') }}
    group by created_date

),

daily as (

    select
        liability.balance_date,
        cast(liability.liability_dollars * 100 as {{ dbt.type_bigint() }}) as liability_cents,
        cast((liability.aged_0_30_dollars + liability.aged_31_90_dollars
            + liability.aged_91_180_dollars + liability.aged_181_365_dollars
            + liability.aged_over_365_dollars) * 100 as {{ dbt.type_bigint() }})
            as aged_cents,
        (
            select coalesce(sum(ledger_daily.net_cents), 0)
            from ledger_daily
            where ledger_daily.created_date <= liability.balance_date
        ) as ledger_cents
    from {{ ref('mart_reward_liability_daily') }} as liability

),

school_total as (

    select cast(sum(liability_dollars) * 100 as {{ dbt.type_bigint() }}) as school_cents
    from {{ ref('mart_reward_liability_by_school') }}
    where is_latest_balance

),

school_ledger as (

    select coalesce(sum(amount_cents), 0) as ledger_cents
    from {{ ref('fct_rewards_ledger') }}
    where school_id is not null
      and created_date <= {{ last_day() }}

)

select
    'daily ' || cast(balance_date as {{ dbt.type_string() }}) as failing_check,
    liability_cents,
    ledger_cents
from daily
where liability_cents <> ledger_cents
   or aged_cents <> liability_cents

union all

select
    'by school at as-of date',
    school_total.school_cents,
    school_ledger.ledger_cents
from school_total
cross join school_ledger
where coalesce(school_total.school_cents, 0) <> school_ledger.ledger_cents
