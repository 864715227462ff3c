{#- Finance rule: the reported liability equals the ledger to the cent on every day, the
    ageing buckets add up to it, and every by-school row equals the ledger entries
    attributed to that school created on or before its date (buckets adding up to it). -#}
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
        cast(({{ ageing_columns_sum('liability.') }}) * 100 as {{ dbt.type_bigint() }})
            as aged_cents,
        (
            select coalesce(sum(ledger_daily.net_cents), 0)
            from ledger_daily
            where ledger_daily.created_date <= liability.balance_date
        ) as ledger_cents
    from {{ ref('mart_reward_liability_daily') }} as liability

),

by_school as (

    select
        school_id,
        balance_date,
        cast(liability_dollars * 100 as {{ dbt.type_bigint() }}) as liability_cents,
        cast(({{ ageing_columns_sum() }}) * 100 as {{ dbt.type_bigint() }}) as aged_cents
    from {{ ref('mart_reward_liability_by_school') }}

),

{#- The school's ledger days and the mart's rows on one timeline: the running sum of the
    school's entries, read on the mart's rows. -#}
school_timeline as (

    select school_id, day, sum(net_cents) as net_cents, max(is_mart_row) as is_mart_row
    from (
        select school_id, created_date as day, amount_cents as net_cents, 0 as is_mart_row
        from {{ ref('fct_rewards_ledger') }}
        where school_id is not null
        union all
        select school_id, balance_date, 0, 1
        from by_school
    ) as pieces
    group by school_id, day

),

school_ledger as (

    select
        school_id,
        day as balance_date,
        is_mart_row,
        sum(net_cents) over (
            partition by school_id order by day
            rows between unbounded preceding and current row
        ) as ledger_cents
    from school_timeline

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
    'school ' || cast(by_school.school_id as {{ dbt.type_string() }}) || ' '
        || cast(by_school.balance_date as {{ dbt.type_string() }}),
    by_school.liability_cents,
    school_ledger.ledger_cents
from by_school
inner join school_ledger
    on by_school.school_id = school_ledger.school_id
    and by_school.balance_date = school_ledger.balance_date
where school_ledger.is_mart_row = 1
  and (by_school.liability_cents <> school_ledger.ledger_cents
       or by_school.aged_cents <> by_school.liability_cents)

union all

{# every school with attributed entries has a row at the as-of date, and they add up #}
select
    'by school at as-of date',
    (
        select cast(coalesce(sum(liability_dollars), 0) * 100 as {{ dbt.type_bigint() }})
        from {{ ref('mart_reward_liability_by_school') }}
        where is_latest_balance
    ),
    (
        select coalesce(sum(amount_cents), 0)
        from {{ ref('fct_rewards_ledger') }}
        where school_id is not null
          and created_date <= {{ last_day() }}
    )
from {{ ref('dim_dates') }}
where is_last_covered_day
  and (
    (select count(*) from {{ ref('mart_reward_liability_by_school') }} where is_latest_balance)
    <> (select count(distinct school_id) from {{ ref('fct_rewards_ledger') }}
        where school_id is not null and created_date <= {{ last_day() }})
    or (select cast(coalesce(sum(liability_dollars), 0) * 100 as {{ dbt.type_bigint() }})
        from {{ ref('mart_reward_liability_by_school') }} where is_latest_balance)
    <> (select coalesce(sum(amount_cents), 0) from {{ ref('fct_rewards_ledger') }}
        where school_id is not null and created_date <= {{ last_day() }})
  )
