{# grain: one row per week (week_start, Monday) and kind ('actual' or 'forecast') #}
{#- Actual = redeemed dollars of every complete ISO week up to the as-of date; forecast = the
    next 12 weeks from an ETS model (statsmodels, additive damped trend) with an 80 %
    prediction interval (lower_80, upper_80); backtest_mape_pct = MAPE of the same model
    refitted without the last 12 weeks, on those held-out weeks. -#}
select
    cast(week_start as date) as week_start,
    cast(kind as {{ dbt.type_string() }}) as kind,
    cast(redeemed_dollars as decimal(12, 2)) as redeemed_dollars,
    cast(lower_80 as decimal(12, 2)) as lower_80,
    cast(upper_80 as decimal(12, 2)) as upper_80,
    cast(backtest_mape_pct as {{ type_double() }}) as backtest_mape_pct,
    cast(model_name as {{ dbt.type_string() }}) as model_name
from {{ ref('int_redemption_forecast_modelled') }}
