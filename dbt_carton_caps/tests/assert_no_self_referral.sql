{#- Program rule: self-referral (same account or same device) is never rewarded. Fails on
    every self-referral that was not rejected. -#}
select
    referral_id,
    referrer_user_id,
    referred_user_id,
    status
from {{ ref('fct_referrals') }}
where is_self_referral
  and status <> 'rejected'
