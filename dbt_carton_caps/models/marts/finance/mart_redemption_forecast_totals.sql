{# grain: one row per total horizon (horizon_weeks: 4 and 12) #}
{#- Redeemed dollars forecast over the next 4 and 12 weeks, with an 80 % interval of its own
    calibrated on the back-test errors of such totals (not the sum of the weekly bounds). -#}
select
    cast(horizon_weeks as {{ dbt.type_int() }}) as horizon_weeks,
    cast(model_name as {{ dbt.type_string() }}) as model_name,
    cast(redeemed_dollars as decimal(12, 2)) as forecast_dollars,
    cast(lower_80 as decimal(12, 2)) as lower_80,
    cast(upper_80 as decimal(12, 2)) as upper_80,
    cast(coverage_80 as {{ type_double() }}) as backtest_coverage_80,
    cast(week_start as date) as first_week,
    cast({{ dbt.dateadd('week', 'horizon_weeks - 1', 'week_start') }} as date) as last_week
from {{ ref('int_redemption_forecast_modelled') }}
where record = 'total'
