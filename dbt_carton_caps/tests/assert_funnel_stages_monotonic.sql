{#- Funnels never grow from one stage to the next: per invite the stage timestamps are in
    causal order, per week and channel the stage counts never increase, and in the
    activation funnel (sequential) no stage holds more users than the stage before it; in
    the any-order stage reach no stage exceeds the installed users. -#}
with

invite_order as (

    select
        'invite ' || cast(referral_id as {{ dbt.type_string() }}) as failing_row
    from {{ ref('fct_referrals') }}
    where clicked_at < sent_at
       or installed_at < clicked_at
       or applied_at < installed_at
       or onboarded_at < applied_at
       or qualified_at < onboarded_at

),

weekly_counts as (

    select
        'referral week ' || cast(sent_week as {{ dbt.type_string() }}) || ' ' || channel
            as failing_row
    from {{ ref('mart_referral_funnel_weekly') }}
    where not (
        sent >= clicked
        and clicked >= installed
        and installed >= applied_within_48h
        and applied_within_48h >= onboarded
        and onboarded >= qualified
    )

),

activation as (

    select
        'activation week ' || cast(stages.install_week as {{ dbt.type_string() }}) || ' '
            || stages.stage as failing_row
    from {{ ref('mart_activation_funnel') }} as stages
    inner join {{ ref('mart_activation_funnel') }} as previous
        on stages.install_week = previous.install_week
        and stages.stage_order = previous.stage_order + 1
    where stages.users > previous.users

),

stage_reach as (

    select
        'stage reach week ' || cast(stages.install_week as {{ dbt.type_string() }}) || ' '
            || stages.stage as failing_row
    from {{ ref('mart_activation_stage_reach') }} as stages
    inner join {{ ref('mart_activation_stage_reach') }} as installed
        on stages.install_week = installed.install_week
        and installed.stage = 'installed'
    where stages.users > installed.users

)

select * from invite_order
union all
select * from weekly_counts
union all
select * from activation
union all
select * from stage_reach
