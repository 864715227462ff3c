{# grain: one row per referrer (referrer_user_id) who sent at least one invite #}
{#- Pseudonymous: only the surrogate user id, never a name, email, phone, device or code.
    Ranked by qualified referrals, then invites sent, then referrer_user_id. -#}
with

funnel as (

    select * from {{ ref('int_referral_funnel_scored') }}

),

bonuses as (

    select user_id, sum(amount_cents) as bonus_cents
    from {{ ref('stg_event_exports__rewards_ledger') }}
    where entry_type = 'earn_referral_bonus'
    group by user_id

),

referrers as (

    select
        referrer_user_id,
        count(*) as invites_sent,
        sum(case when is_installed then 1 else 0 end) as installs,
        sum(case when is_qualified then 1 else 0 end) as qualified_referrals,
        min(sent_at) as first_invite_at,
        max(sent_at) as last_invite_at
    from funnel
    group by referrer_user_id

)

select
    referrers.referrer_user_id,
    cast(row_number() over (
        order by referrers.qualified_referrals desc, referrers.invites_sent desc,
            referrers.referrer_user_id
    ) as {{ dbt.type_bigint() }}) as referrer_rank,
    cast(referrers.invites_sent as {{ dbt.type_bigint() }}) as invites_sent,
    cast(referrers.installs as {{ dbt.type_bigint() }}) as installs,
    cast(referrers.qualified_referrals as {{ dbt.type_bigint() }}) as qualified_referrals,
    cast(referrers.qualified_referrals as {{ type_double() }}) / referrers.invites_sent
        as conversion,
    {{ cents_to_dollars('coalesce(bonuses.bonus_cents, 0)') }} as referral_bonus_dollars,
    referrers.first_invite_at,
    referrers.last_invite_at
from referrers
left join bonuses on referrers.referrer_user_id = bonuses.user_id
