{# grain: one row per week (week_start, Monday) and kind ('actual' or 'forecast') #}
{#- Actual = redeemed dollars of every complete ISO week up to the as-of date; forecast = the
    next 12 weeks from the model that won the rolling-origin back-test, with an 80 % interval
    calibrated on its back-test errors (int_redemption_forecast_modelled);
    backtest_mape_pct = that model's back-test MAPE. -#}
with

modelled as (

    select * from {{ ref('int_redemption_forecast_modelled') }}

),

chosen as (

    select mape_pct
    from modelled
    where record = 'model' and is_chosen

)

select
    cast(modelled.week_start as date) as week_start,
    cast(modelled.kind as {{ dbt.type_string() }}) as kind,
    cast(modelled.redeemed_dollars as decimal(12, 2)) as redeemed_dollars,
    cast(modelled.lower_80 as decimal(12, 2)) as lower_80,
    cast(modelled.upper_80 as decimal(12, 2)) as upper_80,
    cast((select max(mape_pct) from chosen) as {{ type_double() }}) as backtest_mape_pct,
    cast(modelled.model_name as {{ dbt.type_string() }}) as model_name
from modelled
where modelled.record = 'week'
