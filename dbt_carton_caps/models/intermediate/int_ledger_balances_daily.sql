{# grain: one row per user per day on which the user's ledger balance changed
   (user_id, balance_date); balance = running sum of all signed entries up to that day.
   Sums of cents are cast to bigint: DuckDB's sum() widens to HUGEINT, Spark's does not,
   and the layer has one type on every engine. #}
with

ledger as (

    select * from {{ ref('stg_event_exports__rewards_ledger') }}

),

daily as (

    select
        user_id,
        created_date as balance_date,
        count(*) as entry_count,
        cast(sum(case when amount_cents > 0 then amount_cents else 0 end) as bigint)
            as credited_cents,
        cast(sum(case when amount_cents < 0 then -amount_cents else 0 end) as bigint)
            as debited_cents,
        cast(sum(amount_cents) as bigint) as net_change_cents
    from ledger
    group by user_id, created_date

)

select
    user_id,
    entry_count,
    credited_cents,
    debited_cents,
    net_change_cents,
    cast(sum(net_change_cents) over (
        partition by user_id
        order by balance_date
        rows between unbounded preceding and current row
    ) as bigint) as balance_cents,
    balance_date
from daily
