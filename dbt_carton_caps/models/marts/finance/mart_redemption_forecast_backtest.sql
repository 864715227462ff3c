{# grain: one row per candidate forecast model (model_name) #}
{#- Every candidate's rolling-origin back-test (int_redemption_forecast_modelled): at each
    origin the model is fitted on the weeks before it and forecasts the next horizon_weeks;
    errors pooled over every origin and week. The chosen model has the lowest WAPE. -#}
select
    cast(model_name as {{ dbt.type_string() }}) as model_name,
    cast(backtest_origins as {{ dbt.type_int() }}) as backtest_origins,
    cast(horizon_weeks as {{ dbt.type_int() }}) as horizon_weeks,
    cast(wape as {{ type_double() }}) as wape,
    cast(mae_dollars as decimal(12, 2)) as mae_dollars,
    cast(mase as {{ type_double() }}) as mase,
    cast(mape_pct as {{ type_double() }}) as mape_pct,
    cast(coverage_80 as {{ type_double() }}) as coverage_80,
    cast(is_baseline as {{ dbt.type_boolean() }}) as is_baseline,
    cast(is_chosen as {{ dbt.type_boolean() }}) as is_chosen,
    cast(first_origin_week as date) as first_origin_week,
    cast(last_origin_week as date) as last_origin_week
from {{ ref('int_redemption_forecast_modelled') }}
where record = 'model'
