{# grain: one row per (credit entry, debit entry) pair: the cents of a positive ledger entry
   consumed by a negative entry of the same user under FIFO (oldest earnings are spent or
   expire first). Ranges are matched on each user's running credit and debit totals.
   Credits = every positive entry (earn_*, positive adjust); debits = every negative entry
   (redeem, expire, negative adjust). Each side keeps its entry's school_id.
   Sums of cents are cast to bigint: DuckDB's sum() widens to HUGEINT, Spark's does not,
   and the layer has one type on every engine. #}
with

ledger as (

    select * from {{ ref('stg_event_exports__rewards_ledger') }}

),

credits as (

    select
        entry_id as credit_entry_id,
        user_id,
        school_id as credit_school_id,
        amount_cents,
        created_date as credit_date,
        cast(sum(amount_cents) over (
            partition by user_id
            order by created_at, entry_id
            rows between unbounded preceding and current row
        ) as bigint) as range_end
    from ledger
    where amount_cents > 0

),

debits as (

    select
        entry_id as debit_entry_id,
        user_id,
        school_id as debit_school_id,
        entry_type as debit_entry_type,
        -amount_cents as amount_cents,
        created_date as debit_date,
        cast(sum(-amount_cents) over (
            partition by user_id
            order by created_at, entry_id
            rows between unbounded preceding and current row
        ) as bigint) as range_end
    from ledger
    where amount_cents < 0

),

allocated as (

    select
        credits.credit_entry_id,
        debits.debit_entry_id,
        credits.user_id,
        credits.credit_school_id,
        debits.debit_school_id,
        debits.debit_entry_type,
        least(credits.range_end, debits.range_end)
            - greatest(
                credits.range_end - credits.amount_cents,
                debits.range_end - debits.amount_cents
            ) as allocated_cents,
        credits.credit_date,
        debits.debit_date
    from credits
    inner join debits
        on credits.user_id = debits.user_id
        and credits.range_end - credits.amount_cents < debits.range_end
        and debits.range_end - debits.amount_cents < credits.range_end

)

select * from allocated
