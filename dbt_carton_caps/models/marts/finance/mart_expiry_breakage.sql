{# grain: one row per calendar month (month_start) with ledger activity #}
{#- earned_dollars = credits created in the month (earn_* entries + positive adjust entries,
    the same credits FIFO ages); expired_dollars = -expire entries created in the month;
    expired_share_of_earned = expired / earned of the same month; expired_from_month_earnings
    = cents earned in this month that later expired (FIFO), i.e. the month's earning cohort
    breakage, and cohort_breakage_rate = that / earned_dollars. -#}
with

ledger as (

    select * from {{ ref('stg_event_exports__rewards_ledger') }}

),

flows as (

    select
        {{ month_start('created_date') }} as month_start,
        sum({{ ledger_earned_cents() }}) as earned_cents,
        sum(case when entry_type = 'expire' then -amount_cents else 0 end) as expired_cents
    from ledger
    group by 1

),

cohort_expiry as (

    select
        {{ month_start('credit_date') }} as month_start,
        sum(allocated_cents) as expired_from_cohort_cents
    from {{ ref('int_ledger_fifo_allocated') }}
    where debit_entry_type = 'expire'
    group by 1

)

select
    flows.month_start,
    {{ cents_to_dollars('flows.earned_cents') }} as earned_dollars,
    {{ cents_to_dollars('flows.expired_cents') }} as expired_dollars,
    case
        when flows.earned_cents > 0
            then cast(flows.expired_cents as {{ type_double() }}) / flows.earned_cents
    end as expired_share_of_earned,
    {{ cents_to_dollars('coalesce(cohort_expiry.expired_from_cohort_cents, 0)') }}
        as expired_from_month_earnings_dollars,
    case
        when flows.earned_cents > 0
            then cast(coalesce(cohort_expiry.expired_from_cohort_cents, 0)
                as {{ type_double() }}) / flows.earned_cents
    end as cohort_breakage_rate
from flows
left join cohort_expiry on flows.month_start = cohort_expiry.month_start
