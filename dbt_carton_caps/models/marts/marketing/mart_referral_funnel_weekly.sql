{# grain: one row per invite sent week (ISO week, Monday) and channel #}
{#- Each stage counts invites whose stage timestamp is set: clicked, installed,
    applied_within_48h (applied_at - installed_at <= 48 h), onboarded, qualified (bonus
    earned, qualified_at set). conversion = qualified / sent. -#}
with

funnel as (

    select * from {{ ref('int_referral_funnel_scored') }}

)

select
    sent_week,
    channel,
    cast(count(*) as {{ dbt.type_bigint() }}) as sent,
    cast(sum(case when is_clicked then 1 else 0 end) as {{ dbt.type_bigint() }}) as clicked,
    cast(sum(case when is_installed then 1 else 0 end) as {{ dbt.type_bigint() }}) as installed,
    cast(sum(case when is_applied_within_48h then 1 else 0 end) as {{ dbt.type_bigint() }})
        as applied_within_48h,
    cast(sum(case when is_onboarded then 1 else 0 end) as {{ dbt.type_bigint() }})
        as onboarded,
    cast(sum(case when is_qualified then 1 else 0 end) as {{ dbt.type_bigint() }}) as qualified,
    cast(sum(case when is_rejected then 1 else 0 end) as {{ dbt.type_bigint() }}) as rejected,
    cast(sum(case when is_qualified then 1 else 0 end) as {{ type_double() }}) / count(*)
        as conversion
from funnel
group by sent_week, channel
