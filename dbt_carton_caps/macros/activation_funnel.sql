{#- The activation funnel's stages (docs/design.md#activation-funnel), in order, with the
    milestone column (int_user_milestones_collected) that says when a user first reached
    each. -#}
{% macro activation_stages() -%}
    {{ return([
        ('installed', 'installed_at'),
        ('signed_up', 'signed_up_at'),
        ('school_linked', 'school_linked_at'),
        ('first_accepted_receipt', 'first_accepted_receipt_at'),
        ('first_reward_earned', 'first_reward_at'),
    ]) }}
{%- endmacro %}


{#- Per install week and stage, the users who reached the stage within var
    activation_window_days (inclusive, to the second) of their first install.
    sequential=true: a user counts at a stage only if they counted at the previous stage and
    first reached this one at or after they first reached the previous one, so a stage can
    never hold more users than the one before it (the funnel).
    sequential=false: each stage on its own, in any order (the stage-reach view). -#}
{% macro activation_stage_counts(sequential) -%}
{%- set stages = activation_stages() -%}
{%- set window_days = var('activation_window_days') -%}
with

milestones as (

    select * from {{ ref('int_user_milestones_collected') }}

),

flagged as (

    select
        {{ week_start('installed_at') }} as install_week,
        1 as reached_installed,
        {% for stage, column in stages[1:] %}
        {#- sequential: every stage up to this one, each at or after the one before -#}
        {% set required = stages[1:loop.index + 1] if sequential else [(stage, column)] %}
        case
            when {% for _, required_column in required %}
                {{ 'and ' if not loop.first }}{{ required_column }} is not null
                and {{ required_column }} <= {{ dbt.dateadd('day', window_days, 'installed_at') }}
                {% if sequential %}
                and {{ required_column }} >= {{ stages[loop.index0][1] }}
                {% endif %}
                {% endfor %}
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
