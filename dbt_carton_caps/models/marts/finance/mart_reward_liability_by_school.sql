{# grain: one row per balance date and school (balance_date, school_id), from the school's
   first ledger day: every day of the last `liability_by_school_daily_days` (default 90)
   covered days, plus every calendar month end before them #}
{#- Definition: docs/design.md#reward-liability-by-school (the first line of this model's
    description). Liability of a school at d = the signed ledger entries attributed to it
    (the entry's school_id) created on or before d; entries without a school are left out
    (mart_reward_liability_daily holds the total).
    Ageing (FIFO, as in mart_reward_liability_daily; buckets: var liability_ageing_buckets):
    a user's debits consume that user's oldest credits first (int_ledger_fifo_allocated). A
    school's bucket at d = its credits of that age (d - credit day) minus what the school's
    debits had consumed of credits of that age by d. The buckets therefore add up to the
    school's liability to the cent; a bucket can be negative when a debit attributed to this
    school consumed a credit attributed to another school or to none (e.g. a welcome bonus
    earned before the user linked a school).
    Each (event day, credit day, cents) delta is added to a bucket over the date range in
    which d - credit day lies in the bucket (+ at the range start, - the day after its end),
    and running sums over each school's balance dates turn those range edges into
    balances: no school x day x credit-day grid. -#}
{%- set daily_days = var('liability_by_school_daily_days', 90) | int -%}
{%- set buckets = [] -%}
{%- for bucket in liability_ageing_buckets() -%}
    {%- do buckets.append((bucket.name, bucket.min_days, bucket.max_days)) -%}
{%- endfor -%}
with

ledger as (

    select * from {{ ref('stg_event_exports__rewards_ledger') }}
    where school_id is not null
      and created_date <= {{ last_day() }}

),

school_first as (

    select school_id, min(created_date) as first_entry_date
    from ledger
    group by school_id

),

balance_dates as (

    select
        date_day as balance_date,
        {{ month_start(dbt.dateadd('day', 1, 'date_day')) }} <> month_start as is_month_end
    from {{ ref('dim_dates') }}

),

selected_dates as (

    select balance_date, is_month_end
    from balance_dates
    where is_month_end
       or balance_date > cast({{ dbt.dateadd('day', -daily_days, last_day()) }} as date)

),

grid as (

    select school_first.school_id, selected_dates.balance_date, selected_dates.is_month_end
    from school_first
    inner join selected_dates on selected_dates.balance_date >= school_first.first_entry_date

),

{#- (school, event day, credit day) deltas of unspent credit: + a school's credits, - FIFO
    consumption by the school's debits (aged by the consumed credit's day). -#}
credit_deltas as (

    select school_id, event_date, credit_date, sum(delta_cents) as delta_cents
    from (
        select school_id, created_date as event_date, created_date as credit_date,
            amount_cents as delta_cents
        from ledger
        where amount_cents > 0
        union all
        select debit_school_id, debit_date, credit_date, -allocated_cents
        from {{ ref('int_ledger_fifo_allocated') }}
        where debit_school_id is not null
          and debit_date <= {{ last_day() }}
    ) as deltas
    group by school_id, event_date, credit_date

),

{#- Range edges: a delta counts in bucket [lo, hi] on days d >= event day with
    lo <= d - credit day <= hi. -#}
bucket_edges as (

    select school_id, created_date as change_date, 'liability' as bucket, amount_cents as delta_cents
    from ledger
    {% for name, lo, hi in buckets %}
    union all
    select
        school_id,
        case
            when event_date >= cast({{ dbt.dateadd('day', lo, 'credit_date') }} as date)
                then event_date
            else cast({{ dbt.dateadd('day', lo, 'credit_date') }} as date)
        end,
        '{{ name }}',
        delta_cents
    from credit_deltas
    {% if hi is not none %}
    where event_date <= cast({{ dbt.dateadd('day', hi, 'credit_date') }} as date)
    union all
    select
        school_id,
        cast({{ dbt.dateadd('day', hi + 1, 'credit_date') }} as date),
        '{{ name }}',
        -delta_cents
    from credit_deltas
    where event_date <= cast({{ dbt.dateadd('day', hi, 'credit_date') }} as date)
    {% endif %}
    {% endfor %}

),

{#- The first balance date on or after each change day. A school's balance dates are the
    selected dates from its first ledger day, and no change precedes that day, so the
    answer is the same for every school: a window over the distinct days (a few thousand
    rows), not over every school's changes. A change after the last balance date has none
    and counts nowhere, as before. -#}
next_balance_date as (

    select
        day,
        min(balance_date) over (
            order by day
            rows between current row and unbounded following
        ) as balance_date
    from (
        select day, max(balance_date) as balance_date
        from (
            select distinct change_date as day, cast(null as date) as balance_date
            from bucket_edges
            union all
            select balance_date, balance_date
            from selected_dates
        ) as days
        group by day
    ) as distinct_days

),

{#- Each school's changes summed per balance date that first includes them. -#}
changes as (

    select
        bucket_edges.school_id,
        next_balance_date.balance_date,
        sum(case when bucket_edges.bucket = 'liability' then bucket_edges.delta_cents else 0 end)
            as liability_cents,
        {% for name, lo, hi in buckets %}
        sum(case when bucket_edges.bucket = '{{ name }}' then bucket_edges.delta_cents else 0 end)
            as aged_{{ name }}_cents{{ ',' if not loop.last }}
        {% endfor %}
    from bucket_edges
    inner join next_balance_date on bucket_edges.change_date = next_balance_date.day
    where bucket_edges.change_date <= {{ last_day() }}
    group by bucket_edges.school_id, next_balance_date.balance_date

),

{#- Running sums over each school's balance dates give its balances. -#}
balances as (

    select
        grid.school_id,
        grid.balance_date,
        grid.is_month_end,
        sum(coalesce(changes.liability_cents, 0)) over (
            partition by grid.school_id
            order by grid.balance_date
            rows between unbounded preceding and current row
        ) as liability_cents,
        {% for name, lo, hi in buckets %}
        sum(coalesce(changes.aged_{{ name }}_cents, 0)) over (
            partition by grid.school_id
            order by grid.balance_date
            rows between unbounded preceding and current row
        ) as aged_{{ name }}_cents{{ ',' if not loop.last }}
        {% endfor %}
    from grid
    left join changes
        on grid.school_id = changes.school_id
        and grid.balance_date = changes.balance_date

)

select
    balances.balance_date,
    balances.school_id,
    schools.state,
    {{ cents_to_dollars('balances.liability_cents') }} as liability_dollars,
    {% for name, lo, hi in buckets %}
    {{ cents_to_dollars('balances.aged_' ~ name ~ '_cents') }} as aged_{{ name }}_dollars,
    {% endfor %}
    balances.is_month_end,
    balances.balance_date = {{ last_day() }} as is_latest_balance
from balances
left join {{ ref('stg_app_db__schools') }} as schools on balances.school_id = schools.school_id
