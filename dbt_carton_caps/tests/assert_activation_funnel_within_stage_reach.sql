{#- The ordered activation funnel never counts more users at a stage than reached that
    stage at all (mart_activation_stage_reach, any order), and both views have the same
    cohorts and installed users. A funnel stage above its reach would mean the ordering
    invented users. -#}
with

funnel as (

    select * from {{ ref('mart_activation_funnel') }}

),

reach as (

    select * from {{ ref('mart_activation_stage_reach') }}

)

select
    'activation week ' || cast(funnel.install_week as {{ dbt.type_string() }}) || ' '
        || funnel.stage as failing_row
from funnel
left join reach
    on funnel.install_week = reach.install_week
    and funnel.stage = reach.stage
where reach.users is null
   or funnel.users > reach.users
   or (funnel.stage = 'installed' and funnel.users <> reach.users)
