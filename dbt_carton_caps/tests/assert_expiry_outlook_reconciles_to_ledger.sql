{#- Finance rule: the expiry outlook accounts for every unspent cent. At the as-of time the
    unspent credits equal the ledger's signed balance (overall, and per user: FIFO never
    leaves a user more or less than their balance); past due + next 90 days + later adds up
    to it; the windows are cumulative (30 <= 60 <= 90); the schools plus the unattributed
    credits add up to the total, window by window. -#}
with

ledger_balance as (

    select user_id, sum(amount_cents) as balance_cents
    from {{ ref('fct_rewards_ledger') }}
    where created_at < {{ as_of_ts() }}
    group by user_id

),

unspent_by_user as (

    select user_id, sum(unspent_cents) as unspent_cents
    from {{ ref('int_ledger_credits_unspent') }}
    group by user_id

),

user_mismatch as (

    select
        'user ' || cast(coalesce(ledger_balance.user_id, unspent_by_user.user_id)
            as {{ dbt.type_string() }}) as failing_check
    from ledger_balance
    full outer join unspent_by_user on ledger_balance.user_id = unspent_by_user.user_id
    where coalesce(ledger_balance.balance_cents, 0) <> coalesce(unspent_by_user.unspent_cents, 0)

),

total as (

    select * from {{ ref('mart_expiry_outlook') }}

),

schools as (

    select
        coalesce(sum(unspent_dollars), 0) as unspent_dollars,
        coalesce(sum(expiring_30d_dollars), 0) as expiring_30d_dollars,
        coalesce(sum(expiring_60d_dollars), 0) as expiring_60d_dollars,
        coalesce(sum(expiring_90d_dollars), 0) as expiring_90d_dollars,
        coalesce(sum(past_due_dollars), 0) as past_due_dollars
    from {{ ref('mart_expiry_outlook_by_school') }}

),

total_checks as (

    select 'total does not equal the ledger balance' as failing_check
    from total
    where cast(total.unspent_dollars * 100 as {{ dbt.type_bigint() }})
        <> (select coalesce(sum(balance_cents), 0) from ledger_balance)

    union all

    select 'windows do not add up to the unspent total'
    from total
    where total.past_due_dollars + total.expiring_90d_dollars
        + total.expiring_after_90d_dollars <> total.unspent_dollars
       or total.expiring_30d_dollars > total.expiring_60d_dollars
       or total.expiring_60d_dollars > total.expiring_90d_dollars

    union all

    select 'schools plus unattributed do not add up to the total'
    from total
    cross join schools
    where schools.unspent_dollars + total.unattributed_unspent_dollars
        <> total.unspent_dollars
       or schools.expiring_30d_dollars > total.expiring_30d_dollars
       or schools.expiring_60d_dollars > total.expiring_60d_dollars
       or schools.expiring_90d_dollars > total.expiring_90d_dollars
       or schools.past_due_dollars > total.past_due_dollars

)

select failing_check from user_mismatch
union all
select failing_check from total_checks
