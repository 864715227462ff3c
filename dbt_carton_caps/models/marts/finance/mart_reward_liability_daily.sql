{# grain: one row per balance date (every day from the first ledger day to the as-of date) #}
{#- Reward liability and its ageing: docs/design.md#reward-liability and
    #liability-ageing state the definitions; they are the first two lines of this model's
    description in _finance__models.yml. Here, how they are computed:
    Flows of the day, by entry type and sign (every ledger entry lands in exactly one flow,
    earned by macro ledger_earned_cents): redeemed = -redeem entries, expired = -expire
    entries, adjusted_debit = -NEGATIVE adjust entries. Liability at d = cumulative
    earned - redeemed - expired - adjusted_debit (= the sum of every signed ledger entry).
    Ageing: unspent credits by age (d - day the credit was created) in the buckets of var
    liability_ageing_buckets, FIFO: debits consume a user's oldest credits first
    (int_ledger_fifo_allocated); positive adjustments are credits with their own age. -#}
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
        {% for bucket in liability_ageing_buckets() %}
        sum(case when {{ in_ageing_bucket(bucket, 'age_days') }} then unspent_cents else 0 end)
            as aged_{{ bucket.name }}_cents{{ ',' if not loop.last }}
        {% endfor %}
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
    {% for bucket in liability_ageing_buckets() %}
    {{ cents_to_dollars('coalesce(ageing.aged_' ~ bucket.name ~ '_cents, 0)') }}
        as aged_{{ bucket.name }}_dollars{{ ',' if not loop.last }}
    {% endfor %}
from cumulative
left join ageing on cumulative.balance_date = ageing.balance_date
