{# grain: one row per install week (ISO week, Monday) and funnel stage #}
{#- Interpretation of DESIGN 5 ("within 30 days of install"): each stage is counted
    INDEPENDENTLY - a user reaches a stage when that stage's own first timestamp is at most
    30 days (30 x 24 h, inclusive) after the first install, whether or not the earlier
    stages were reached in the window. Every user of the week counts at 'installed'.
    conversion_from_installed = users / installed users of the week (installed >= 1 for
    every cohort, so it is always defined). -#}
with

milestones as (

    select * from {{ ref('int_user_milestones_collected') }}

),

flagged as (

    select
        {{ week_start('installed_at') }} as install_week,
        1 as reached_installed,
        {% for stage in ['signed_up_at', 'school_linked_at', 'first_accepted_receipt_at',
                         'first_reward_at'] %}
        case
            when {{ stage }} is not null
                and {{ stage }} <= {{ dbt.dateadd('day', 30, 'installed_at') }}
                then 1
            else 0
        end as reached_{{ stage }}{{ ',' if not loop.last }}
        {% endfor %}
    from milestones

),

weekly as (

    select
        install_week,
        sum(reached_installed) as installed,
        sum(reached_signed_up_at) as signed_up,
        sum(reached_school_linked_at) as school_linked,
        sum(reached_first_accepted_receipt_at) as first_accepted_receipt,
        sum(reached_first_reward_at) as first_reward_earned
    from flagged
    group by install_week

),

stages as (

    {% set stages = ['installed', 'signed_up', 'school_linked', 'first_accepted_receipt',
                     'first_reward_earned'] %}
    {% for stage in stages %}
    select
        install_week,
        {{ loop.index }} as stage_order,
        '{{ stage }}' as stage,
        {{ stage }} as users,
        installed
    from weekly
    {{ 'union all' if not loop.last }}
    {% endfor %}

)

select
    install_week,
    cast(stage as {{ dbt.type_string() }}) as stage,
    cast(stage_order as {{ dbt.type_int() }}) as stage_order,
    cast(users as {{ dbt.type_bigint() }}) as users,
    case when installed > 0 then cast(users as {{ type_double() }}) / installed end
        as conversion_from_installed,
    cast({{ dbt.dateadd('day', 36, 'install_week') }} as date) <= {{ last_day() }}
        as is_cohort_complete
from stages
