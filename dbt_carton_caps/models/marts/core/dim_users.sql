{# grain: one row per app account (user_id). No PII: no email, phone, name or device id. #}
with

users as (

    select * from {{ ref('stg_app_db__users') }}

),

milestones as (

    select * from {{ ref('int_user_milestones_collected') }}

),

referred as (

    select referred_user_id, min(referral_id) as referral_id
    from {{ ref('stg_app_db__referrals') }}
    where referred_user_id is not null
      and status = 'qualified'
    group by referred_user_id

)

select
    users.user_id,
    users.school_id,
    users.state,
    users.user_type,
    users.platform,
    users.acquisition_channel,
    users.is_verified,
    users.signed_up_at is not null as is_signed_up,
    referred.referral_id is not null as is_qualified_referral,
    cast(users.installed_at as date) as install_date,
    {{ week_start('users.installed_at') }} as install_week,
    cast(users.signed_up_at as date) as signup_date,
    {{ week_start('users.signed_up_at') }} as signup_week,
    users.installed_at,
    users.signed_up_at,
    users.school_linked_at,
    milestones.first_accepted_receipt_at,
    milestones.first_reward_at,
    users.updated_at
from users
left join milestones on users.user_id = milestones.user_id
left join referred on users.user_id = referred.referred_user_id
