{#- Program rule: the code must be applied within var referral_apply_window_hours (48) of
    the referred user's first install; later use earns nothing. Fails on every qualified invite (bonus earned) whose
    code was not applied within the window. -#}
select
    referral_id,
    installed_at,
    applied_at,
    hours_install_to_apply
from {{ ref('fct_referrals') }}
where is_qualified
  and not is_applied_within_48h
