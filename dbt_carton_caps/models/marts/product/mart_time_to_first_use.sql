{# grain: one row per feature #}
{#- Users = signed-up users who ever used the feature; days = (first use - sign-up) in
    fractional days (seconds / 86400); median and p75 use linear interpolation. -#}
with

milestones as (

    select * from {{ ref('int_user_milestones_collected') }}
    where signed_up_at is not null

),

uses as (

    {% set features = ['receipt_scan', 'referral_share', 'rewards_view', 'redemption_request'] %}
    {% for feature in features %}
    select
        '{{ feature }}' as feature,
        {{ days_between('signed_up_at', 'first_' ~ feature ~ '_at') }} as days_to_first_use
    from milestones
    where first_{{ feature }}_at is not null
    {{ 'union all' if not loop.last }}
    {% endfor %}

)

select
    cast(feature as {{ dbt.type_string() }}) as feature,
    cast(count(*) as {{ dbt.type_bigint() }}) as users,
    cast({{ percentile_cont('days_to_first_use', 0.5) }} as {{ type_double() }})
        as median_days_to_first_use,
    cast({{ percentile_cont('days_to_first_use', 0.75) }} as {{ type_double() }})
        as p75_days_to_first_use
from uses
group by feature
