{# grain: one row per school (school_id) #}
{#- dollars_raised = sum of PAID redemptions to the school (redemptions with status 'paid'
    and paid_at on or before the end of the as-of date); supporters = distinct users with
    at least one paid redemption to the school; linked_users = users whose linked school it
    is; liability_dollars = unspent rewards attributed to the school at the as-of date. -#}
with

schools as (

    select * from {{ ref('stg_app_db__schools') }}

),

paid as (

    select
        school_id,
        sum(amount_cents) as raised_cents,
        count(*) as paid_redemptions,
        count(distinct user_id) as supporters,
        max(paid_at) as last_paid_at
    from {{ ref('stg_app_db__redemptions') }}
    where status = 'paid'
      and paid_at < {{ as_of_ts() }}
    group by school_id

),

linked as (

    select school_id, count(*) as linked_users
    from {{ ref('stg_app_db__users') }}
    where school_id is not null
    group by school_id

),

liability as (

    select school_id, sum(amount_cents) as liability_cents
    from {{ ref('stg_event_exports__rewards_ledger') }}
    where school_id is not null
      and created_date <= {{ last_day() }}
    group by school_id

)

select
    schools.school_id,
    schools.school_name,
    schools.city,
    schools.state,
    cast(coalesce(paid.supporters, 0) as {{ dbt.type_bigint() }}) as supporters,
    cast(coalesce(linked.linked_users, 0) as {{ dbt.type_bigint() }}) as linked_users,
    cast(coalesce(paid.paid_redemptions, 0) as {{ dbt.type_bigint() }}) as paid_redemptions,
    {{ cents_to_dollars('coalesce(paid.raised_cents, 0)') }} as dollars_raised,
    {{ cents_to_dollars('coalesce(liability.liability_cents, 0)') }} as liability_dollars,
    paid.last_paid_at
from schools
left join paid on schools.school_id = paid.school_id
left join linked on schools.school_id = linked.school_id
left join liability on schools.school_id = liability.school_id
