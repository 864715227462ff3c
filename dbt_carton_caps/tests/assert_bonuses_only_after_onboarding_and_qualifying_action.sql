{#- Program rule: referral and welcome bonuses are earned only when the referred user has
    completed onboarding AND performed a qualifying action. Fails on every bonus entry whose
    referral is missing, not onboarded, not qualified, or credited before qualification, or
    credited to someone other than the referrer (referral bonus) / referred user (welcome). -#}
with

bonuses as (

    select * from {{ ref('fct_rewards_ledger') }}
    where entry_type in ('earn_referral_bonus', 'earn_welcome_bonus')

),

referrals as (

    select * from {{ ref('fct_referrals') }}

)

select
    bonuses.entry_id,
    bonuses.entry_type,
    bonuses.user_id,
    bonuses.created_at,
    referrals.referral_id,
    referrals.onboarded_at,
    referrals.qualified_at
from bonuses
left join referrals on bonuses.source_id = referrals.referral_id
where referrals.referral_id is null
   or referrals.onboarded_at is null
   or referrals.qualified_at is null
   or referrals.qualified_at < referrals.onboarded_at
   or bonuses.created_at < referrals.qualified_at
   or (bonuses.entry_type = 'earn_referral_bonus'
       and bonuses.user_id <> referrals.referrer_user_id)
   or (bonuses.entry_type = 'earn_welcome_bonus'
       and bonuses.user_id <> coalesce(referrals.referred_user_id, -1))
