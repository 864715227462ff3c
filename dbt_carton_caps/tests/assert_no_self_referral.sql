{#- Program rule: self-referral (same account or same device) is rejected when the code is
    applied and never rewarded. Fails on every self-referral that applied the code without
    being rejected, or that reached onboarding / qualification (bonus). -#}
select
    referral_id,
    referrer_user_id,
    referred_user_id,
    status
from {{ ref('fct_referrals') }}
where is_self_referral
  and (
    (is_applied and status <> 'rejected')
    or is_onboarded
    or is_qualified
  )
