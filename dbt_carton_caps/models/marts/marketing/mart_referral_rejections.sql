{# grain: one row per invite sent week (ISO week, Monday), channel and rejection reason #}
select
    sent_week,
    channel,
    coalesce(rejection_reason, 'unknown') as rejection_reason,
    cast(count(*) as {{ dbt.type_bigint() }}) as rejections
from {{ ref('int_referral_funnel_scored') }}
where is_rejected
group by sent_week, channel, coalesce(rejection_reason, 'unknown')
