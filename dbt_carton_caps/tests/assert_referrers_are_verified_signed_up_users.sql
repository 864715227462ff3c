{#- Program rule: referrers are existing users with a verified account: every invite's
    referrer is verified and had signed up before sending it. -#}
select
    referrals.referral_id,
    referrals.referrer_user_id,
    referrals.sent_at,
    users.signed_up_at,
    users.is_verified
from {{ ref('stg_app_db__referrals') }} as referrals
inner join {{ ref('stg_app_db__users') }} as users
    on referrals.referrer_user_id = users.user_id
where not users.is_verified
   or users.signed_up_at is null
   or referrals.sent_at < users.signed_up_at
