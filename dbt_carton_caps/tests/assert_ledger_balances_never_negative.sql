{#- Program rule: a user's balance (running sum of signed ledger entries, end of day) is
    never negative. -#}
select
    user_id,
    balance_date,
    balance_cents
from {{ ref('int_ledger_balances_daily') }}
where balance_cents < 0
