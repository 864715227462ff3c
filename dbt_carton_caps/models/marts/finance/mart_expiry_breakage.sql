{# grain: one row per calendar month (month_start) with ledger activity #}
{#- earned_dollars = credits created in the month (earn_* entries + positive adjust entries,
    the same credits FIFO ages); expired_dollars = -expire entries created in the month;
    expired_share_of_earned = expired / earned of the same month; expired_from_month_earnings
    = cents earned in this month that later expired (FIFO), i.e. the month's earning cohort
    breakage, and cohort_breakage_rate = that / earned_dollars. A cohort's breakage is only
    known once every credit of the month has reached its expiry (var reward_expiry_days
    after it was earned) before the as-of date: until then both are null, not zero
    (is_cohort_expiry_observable). is_month_complete: the month ended on or before the last
    covered day (the as-of month is partial). -#}
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

),

bounds as (

    select
        month_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date)
            <= {{ last_day() }} as is_month_complete,
        cast({{ dbt.dateadd('day', var('reward_expiry_days'),
                            dbt.dateadd('month', 1, 'month_start')) }} as date)
            <= {{ as_of_date() }} as is_cohort_expiry_observable
    from flows

)

select
    flows.month_start,
    {{ cents_to_dollars('flows.earned_cents') }} as earned_dollars,
    {{ cents_to_dollars('flows.expired_cents') }} as expired_dollars,
    case
        when flows.earned_cents > 0
            then cast(flows.expired_cents as {{ type_double() }}) / flows.earned_cents
    end as expired_share_of_earned,
    case
        when bounds.is_cohort_expiry_observable
            then {{ cents_to_dollars('coalesce(cohort_expiry.expired_from_cohort_cents, 0)') }}
    end as expired_from_month_earnings_dollars,
    case
        when bounds.is_cohort_expiry_observable and flows.earned_cents > 0
            then cast(coalesce(cohort_expiry.expired_from_cohort_cents, 0)
                as {{ type_double() }}) / flows.earned_cents
    end as cohort_breakage_rate,
    bounds.is_month_complete,
    bounds.is_cohort_expiry_observable
from flows
inner join bounds on flows.month_start = bounds.month_start
left join cohort_expiry on flows.month_start = cohort_expiry.month_start
