{# grain: one row (the run's as-of date) #}
{#- Dollars that expire in the next 30/60/90 days at the as-of time if nobody redeems
    meanwhile: every user's unspent credit (FIFO), each expiring 365 days after it was
    earned. unspent_dollars = past_due + expiring_90d + expiring_after_90d = the ledger's
    balance at the as-of time (tested to the cent). -#}
with

unspent as (

    select * from {{ ref('int_ledger_credits_unspent') }}

)

select
    {{ as_of_date() }} as as_of_date,
    {{ expiry_outlook_columns() }},
    {{ cents_to_dollars('coalesce(sum(case when school_id is null then unspent_cents '
        ~ 'else 0 end), 0)') }} as unattributed_unspent_dollars
from unspent
