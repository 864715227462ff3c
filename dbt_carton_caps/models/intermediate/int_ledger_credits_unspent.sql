{# grain: one row per credit entry (positive ledger entry) with cents still unspent at the
   as-of time.
   Sums of cents are cast to bigint: DuckDB's sum() widens to HUGEINT, Spark's does not,
   and the layer has one type on every engine. #}
{#- Unspent = the credit's cents minus what the user's debits so far (redeem, expire,
    negative adjust) consumed of it, oldest credit first (FIFO, int_ledger_fifo_allocated).
    Each credit expires var reward_expiry_days (365) after it was created, the generator's
    and the app's 12-month rule (generator/parameters.py expiry_s; a test keeps the two
    equal), so expires_at is exact to the second.
    Fully spent credits are left out. -#}
with

credits as (

    select
        entry_id,
        user_id,
        school_id,
        amount_cents,
        created_at
    from {{ ref('stg_event_exports__rewards_ledger') }}
    where amount_cents > 0
      and created_at < {{ as_of_ts() }}

),

consumed as (

    select
        credit_entry_id,
        cast(sum(allocated_cents) as bigint) as consumed_cents
    from {{ ref('int_ledger_fifo_allocated') }}
    group by credit_entry_id

),

unspent as (

    select
        credits.entry_id as credit_entry_id,
        credits.user_id,
        credits.school_id,
        credits.amount_cents - coalesce(consumed.consumed_cents, 0) as unspent_cents,
        credits.created_at as credited_at,
        {{ dbt.dateadd('day', var('reward_expiry_days'), 'credits.created_at') }} as expires_at
    from credits
    left join consumed on credits.entry_id = consumed.credit_entry_id

)

select * from unspent
where unspent_cents > 0
