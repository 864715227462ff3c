{# grain: one row per school (school_id) with unspent credits at the as-of time #}
{#- The expiry outlook of mart_expiry_outlook per school: a credit belongs to the school of
    its ledger entry (the user's linked school when it was earned). Credits earned with no
    school linked are in mart_expiry_outlook.unattributed_unspent_dollars, so these rows plus
    that figure add up to the total (tested). -#}
with

unspent as (

    select * from {{ ref('int_ledger_credits_unspent') }}
    where school_id is not null

),

schools as (

    select * from {{ ref('stg_app_db__schools') }}

),

by_school as (

    select
        school_id,
        {{ expiry_outlook_columns() }}
    from unspent
    group by school_id

)

select
    by_school.school_id,
    schools.school_name,
    schools.city,
    schools.state,
    by_school.unspent_dollars,
    by_school.expiring_30d_dollars,
    by_school.expiring_60d_dollars,
    by_school.expiring_90d_dollars,
    by_school.expiring_after_90d_dollars,
    by_school.past_due_dollars,
    by_school.users_expiring_90d,
    {{ as_of_date() }} as as_of_date
from by_school
left join schools on by_school.school_id = schools.school_id
