{# grain: one row per balance date (every day from the first ledger day to the as-of date) #}
{#- Flows of the day, by entry type and sign (every ledger entry lands in exactly one flow):
    earned = earn_* entries + POSITIVE adjust entries (credits), redeemed = -redeem entries,
    expired = -expire entries, adjusted_debit = -NEGATIVE adjust entries (debits).
    Liability at d = cumulative earned - redeemed - expired - adjusted_debit over entries
    created on or before d (= the sum of every signed ledger entry, to the cent; with the
    generator's default of no adjustments it is exactly DESIGN's earned - redeemed - expired).
    Ageing: unspent credits by age (d - day the credit was created), FIFO: debits (redeem,
    expire, negative adjust) consume a user's oldest credits first (int_ledger_fifo_allocated);
    positive adjustments are credits with their own age. -#}
with

ledger as (

    select * from {{ ref('stg_event_exports__rewards_ledger') }}

),

dates as (

    select date_day
    from {{ ref('dim_dates') }}
    where date_day >= (select min(created_date) from ledger)

),

flows as (

    select
        created_date,
        sum({{ ledger_earned_cents() }}) as earned_cents,
        sum(case when entry_type = 'redeem' then -amount_cents else 0 end) as redeemed_cents,
        sum(case when entry_type = 'expire' then -amount_cents else 0 end) as expired_cents,
        sum(
            case when entry_type = 'adjust' and amount_cents < 0 then -amount_cents else 0 end
        ) as adjusted_debit_cents
    from ledger
    group by created_date

),

daily as (

    select
        dates.date_day as balance_date,
        coalesce(flows.earned_cents, 0) as earned_cents,
        coalesce(flows.redeemed_cents, 0) as redeemed_cents,
        coalesce(flows.expired_cents, 0) as expired_cents,
        coalesce(flows.adjusted_debit_cents, 0) as adjusted_debit_cents
    from dates
    left join flows on dates.date_day = flows.created_date

),

cumulative as (

    select
        balance_date,
        earned_cents,
        redeemed_cents,
        expired_cents,
        adjusted_debit_cents,
        {% for flow in ['earned', 'redeemed', 'expired', 'adjusted_debit'] %}
        sum({{ flow }}_cents) over (
            order by balance_date rows between unbounded preceding and current row
        ) as cumulative_{{ flow }}_cents{{ ',' if not loop.last }}
        {% endfor %}
    from daily

),

{#- (event day, credit day) deltas of unspent credit: + credit, - FIFO consumption. -#}
credit_deltas as (

    select event_date, credit_date, sum(delta_cents) as delta_cents
    from (
        select created_date as event_date, created_date as credit_date,
            amount_cents as delta_cents
        from ledger
        where amount_cents > 0
        union all
        select debit_date, credit_date, -allocated_cents
        from {{ ref('int_ledger_fifo_allocated') }}
    ) as deltas
    group by event_date, credit_date

),

credit_days as (

    select distinct credit_date from credit_deltas

),

{#- days x credit days (bounded by the history length, not by users). -#}
unspent_grid as (

    select
        dates.date_day as balance_date,
        credit_days.credit_date,
        {{ dbt.datediff('credit_days.credit_date', 'dates.date_day', 'day') }} as age_days,
        sum(coalesce(credit_deltas.delta_cents, 0)) over (
            partition by credit_days.credit_date
            order by dates.date_day
            rows between unbounded preceding and current row
        ) as unspent_cents
    from dates
    inner join credit_days on credit_days.credit_date <= dates.date_day
    left join credit_deltas
        on credit_deltas.event_date = dates.date_day
        and credit_deltas.credit_date = credit_days.credit_date

),

ageing as (

    select
        balance_date,
        sum(case when age_days <= 30 then unspent_cents else 0 end) as aged_0_30_cents,
        sum(case when age_days between 31 and 90 then unspent_cents else 0 end)
            as aged_31_90_cents,
        sum(case when age_days between 91 and 180 then unspent_cents else 0 end)
            as aged_91_180_cents,
        sum(case when age_days between 181 and 365 then unspent_cents else 0 end)
            as aged_181_365_cents,
        sum(case when age_days > 365 then unspent_cents else 0 end) as aged_over_365_cents
    from unspent_grid
    group by balance_date

)

select
    cumulative.balance_date,
    {{ cents_to_dollars('cumulative.earned_cents') }} as earned_dollars,
    {{ cents_to_dollars('cumulative.redeemed_cents') }} as redeemed_dollars,
    {{ cents_to_dollars('cumulative.expired_cents') }} as expired_dollars,
    {{ cents_to_dollars('cumulative.adjusted_debit_cents') }} as adjusted_debit_dollars,
    {{ cents_to_dollars('cumulative.cumulative_earned_cents') }} as cumulative_earned_dollars,
    {{ cents_to_dollars('cumulative.cumulative_redeemed_cents') }}
        as cumulative_redeemed_dollars,
    {{ cents_to_dollars('cumulative.cumulative_expired_cents') }} as cumulative_expired_dollars,
    {{ cents_to_dollars('cumulative.cumulative_adjusted_debit_cents') }}
        as cumulative_adjusted_debit_dollars,
    {{ cents_to_dollars(
        'cumulative.cumulative_earned_cents - cumulative.cumulative_redeemed_cents'
        ~ ' - cumulative.cumulative_expired_cents - cumulative.cumulative_adjusted_debit_cents'
    ) }} as liability_dollars,
    {{ cents_to_dollars('coalesce(ageing.aged_0_30_cents, 0)') }} as aged_0_30_dollars,
    {{ cents_to_dollars('coalesce(ageing.aged_31_90_cents, 0)') }} as aged_31_90_dollars,
    {{ cents_to_dollars('coalesce(ageing.aged_91_180_cents, 0)') }} as aged_91_180_dollars,
    {{ cents_to_dollars('coalesce(ageing.aged_181_365_cents, 0)') }} as aged_181_365_dollars,
    {{ cents_to_dollars('coalesce(ageing.aged_over_365_cents, 0)') }} as aged_over_365_dollars
from cumulative
left join ageing on cumulative.balance_date = ageing.balance_date
