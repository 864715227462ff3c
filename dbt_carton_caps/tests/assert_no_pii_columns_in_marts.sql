{#- Privacy rule: no raw PII column (email, phone, first/last name, device id, referral code,
    or any hashed variant of them) in any mart table. -#}
{%- set marts = [
    'dim_users', 'dim_schools', 'dim_products', 'dim_dates', 'fct_sessions', 'fct_receipts',
    'fct_receipt_items', 'fct_referrals', 'fct_rewards_ledger', 'fct_redemptions',
    'mart_daily_engagement', 'mart_activation_funnel', 'mart_feature_adoption_weekly',
    'mart_time_to_first_use', 'mart_retention_cohorts', 'mart_referral_funnel_weekly',
    'mart_referral_rejections', 'mart_viral_coefficient', 'mart_top_referrers',
    'mart_reward_liability_daily', 'mart_reward_liability_by_school',
    'mart_redemption_forecast', 'mart_redemption_forecast_accuracy',
    'mart_school_fundraising', 'mart_state_fundraising', 'mart_expiry_breakage'] %}
{%- for mart in marts %}
-- depends_on: {{ ref(mart) }}
{%- endfor %}

with

mart_columns as (

    {{ schema_columns('marts') }}

)

select
    table_name,
    column_name
from mart_columns
where (
    lower(column_name) like '%email%'
    or lower(column_name) like '%phone%'
    or lower(column_name) in ('first_name', 'last_name', 'full_name', 'name')
    or lower(column_name) like '%device%'
    or lower(column_name) like '%referral_code%'
  )
