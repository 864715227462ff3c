{#- Program rule: each user has exactly one stable referral code, and an invite carries the
    code of the user who sent it. -#}
select
    referrals.referral_id,
    referrals.referrer_user_id,
    referrals.referral_code,
    users.referral_code as referrer_code
from {{ ref('stg_app_db__referrals') }} as referrals
inner join {{ ref('stg_app_db__users') }} as users
    on referrals.referrer_user_id = users.user_id
where referrals.referral_code <> users.referral_code
