{#- The activation funnel's stages (docs/design.md#activation-funnel), in order, with the
    milestone column that says when a user reached each: first-ever in
    int_user_milestones_collected, in funnel order in int_user_activation_sequenced. -#}
{% macro activation_stages() -%}
    {{ return([
        ('installed', 'installed_at'),
        ('signed_up', 'signed_up_at'),
        ('school_linked', 'school_linked_at'),
        ('first_accepted_receipt', 'first_accepted_receipt_at'),
        ('first_reward_earned', 'first_reward_at'),
    ]) }}
{%- endmacro %}


{#- The events behind the last two stages, stated once for every model that reads them: a
    receipt counts when accepted (at its scan time), a reward when it is a positive earn_*
    ledger entry (at its creation time). -#}
{% macro is_accepted_receipt(status='status') -%}
    {{ status }} = 'accepted'
{%- endmacro %}

{% macro is_reward_earned(entry_type='entry_type', amount_cents='amount_cents') -%}
    {{ entry_type }} in ('earn_purchase', 'earn_referral_bonus', 'earn_welcome_bonus')
    and {{ amount_cents }} > 0
{%- endmacro %}


{#- Per install week and stage, the users who reached the stage within var
    activation_window_days (inclusive, to the second) of their first install.
    sequential=true: the funnel. Each stage's moment comes from int_user_activation_sequenced
    (the first qualifying event at or after the previous stage's moment, null when none), so
    a user inside the window at a stage is inside it at every earlier one and no stage can
    hold more users than the one before it.
    sequential=false: each stage on its own, first-ever moments, in any order (the
    stage-reach view). -#}
{% macro activation_stage_counts(sequential) -%}
{%- set stages = activation_stages() -%}
{%- set window_days = var('activation_window_days') -%}
with

milestones as (

    {% if sequential %}
    select * from {{ ref('int_user_activation_sequenced') }}
    {% else %}
    select * from {{ ref('int_user_milestones_collected') }}
    {% endif %}

),

flagged as (

    select
        {{ week_start('installed_at') }} as install_week,
        1 as reached_installed,
        {% for stage, column in stages[1:] %}
        case
            when {{ column }} is not null
                and {{ column }} <= {{ dbt.dateadd('day', window_days, 'installed_at') }}
                then 1
            else 0
        end as reached_{{ stage }}{{ ',' if not loop.last }}
        {% endfor %}
    from milestones

),

weekly as (

    select
        install_week,
        {% for stage, _ in stages %}
        sum(reached_{{ stage }}) as {{ stage }}{{ ',' if not loop.last }}
        {% endfor %}
    from flagged
    group by install_week

),

stages as (

    {% for stage, _ in stages %}
    select
        install_week,
        {{ loop.index }} as stage_order,
        '{{ stage }}' as stage,
        {{ stage }} as users,
        {{ stages[loop.index0 - 1][0] if not loop.first else stage }} as previous_users,
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
    {% if sequential %}
    case
        when stage_order > 1 and previous_users > 0
            then cast(users as {{ type_double() }}) / previous_users
    end as conversion_from_previous,
    {% endif %}
    {{ is_cohort_window_closed('install_week', window_days) }} as is_cohort_complete
from stages
{%- endmacro %}
