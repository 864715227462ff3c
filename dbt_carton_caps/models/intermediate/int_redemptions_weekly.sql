{# grain: one row per complete ISO week (week_start, Monday) from the first ledger week to the
   last week that ended on or before the as-of date; redeemed dollars = -sum(redeem entries) #}
with

ledger as (

    select * from {{ ref('stg_event_exports__rewards_ledger') }}

),

weeks as (

    select distinct week_start
    from {{ ref('dim_dates') }}
    where week_start >= (select {{ week_start('min(created_date)') }} from ledger)
      and {{ dbt.dateadd('day', 6, 'week_start') }} <= {{ last_day() }}

),

redeemed as (

    select
        {{ week_start('created_date') }} as week_start,
        -sum(amount_cents) as redeemed_cents
    from ledger
    where entry_type = 'redeem'
    group by 1

)

select
    weeks.week_start,
    {{ cents_to_dollars('coalesce(redeemed.redeemed_cents, 0)') }} as redeemed_dollars
from weeks
left join redeemed on weeks.week_start = redeemed.week_start
