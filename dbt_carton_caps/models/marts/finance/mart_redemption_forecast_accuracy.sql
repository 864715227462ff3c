{# grain: one row (the run's redemption forecast model and its back-test) #}
select
    cast(min(model_name) as {{ dbt.type_string() }}) as model_name,
    cast(max(training_weeks) as {{ dbt.type_int() }}) as training_weeks,
    cast(max(backtest_holdout_weeks) as {{ dbt.type_int() }}) as holdout_weeks,
    cast(max(backtest_mape_pct) as {{ type_double() }}) as backtest_mape_pct,
    cast(sum(case when kind = 'forecast' then 1 else 0 end) as {{ dbt.type_int() }})
        as forecast_weeks,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_redemption_forecast_modelled') }}
