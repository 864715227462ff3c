{#- The forecast is chosen by its back-test: the chosen model's WAPE is never above any
    baseline's, exactly one model is chosen, and the accuracy row repeats its errors. -#}
with

backtest as (

    select * from {{ ref('mart_redemption_forecast_backtest') }}

),

chosen as (

    select * from backtest where is_chosen

)

select 'chosen model worse than baseline ' || backtest.model_name as failing_check
from backtest
cross join chosen
where backtest.is_baseline
  and backtest.wape < chosen.wape

union all

select 'not exactly one chosen model'
from (select count(*) as chosen_models from chosen) as counted
where counted.chosen_models <> 1
  and (select count(*) from backtest) > 0

union all

select 'accuracy row does not match the chosen model'
from {{ ref('mart_redemption_forecast_accuracy') }} as accuracy
inner join chosen on accuracy.model_name = chosen.model_name
where accuracy.backtest_wape is distinct from chosen.wape
   or accuracy.coverage_80 is distinct from chosen.coverage_80
