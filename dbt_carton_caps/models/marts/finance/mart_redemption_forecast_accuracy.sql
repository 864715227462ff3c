{# grain: one row (the run's chosen redemption forecast model, model_name) #}
{#- The chosen model's back-test errors beside the naive forecast's and the best
    baseline's, the measured coverage of its 80 % interval and the verdict in words.
    skill_vs_naive = 1 - chosen WAPE / naive WAPE. -#}
with

backtest as (

    select * from {{ ref('mart_redemption_forecast_backtest') }}

),

modelled as (

    select * from {{ ref('int_redemption_forecast_modelled') }}

),

run as (

    select
        max(case when record = 'week' then model_name end) as model_name,
        max(verdict) as verdict,
        max(training_weeks) as training_weeks,
        max(horizon_weeks) as horizon_weeks,
        max(backtest_origins) as backtest_origins,
        sum(case when record = 'week' and kind = 'forecast' then 1 else 0 end)
            as forecast_weeks
    from modelled

),

ranked_baselines as (

    select
        model_name,
        wape,
        mape_pct,
        row_number() over (order by wape, mae_dollars, model_name) as baseline_rank
    from backtest
    where is_baseline

),

chosen as (

    select * from backtest where is_chosen

),

naive as (

    select * from backtest where model_name = 'naive'

),

best_baseline as (

    select * from ranked_baselines where baseline_rank = 1

)

select
    cast(run.model_name as {{ dbt.type_string() }}) as model_name,
    cast(run.verdict as {{ dbt.type_string() }}) as verdict,
    cast(best_baseline.model_name as {{ dbt.type_string() }}) as best_baseline_name,
    cast(run.training_weeks as {{ dbt.type_int() }}) as training_weeks,
    cast(run.backtest_origins as {{ dbt.type_int() }}) as backtest_origins,
    cast(case when run.backtest_origins > 0 then run.horizon_weeks else 0 end
        as {{ dbt.type_int() }}) as backtest_horizon_weeks,
    cast(run.forecast_weeks as {{ dbt.type_int() }}) as forecast_weeks,
    cast(chosen.wape as {{ type_double() }}) as backtest_wape,
    cast(chosen.mase as {{ type_double() }}) as backtest_mase,
    cast(chosen.mape_pct as {{ type_double() }}) as backtest_mape_pct,
    cast(naive.wape as {{ type_double() }}) as naive_wape,
    cast(naive.mape_pct as {{ type_double() }}) as naive_mape_pct,
    cast(best_baseline.wape as {{ type_double() }}) as best_baseline_wape,
    cast(best_baseline.mape_pct as {{ type_double() }}) as best_baseline_mape_pct,
    cast(case when naive.wape > 0 then 1 - chosen.wape / naive.wape end
        as {{ type_double() }}) as skill_vs_naive,
    cast(chosen.coverage_80 as {{ type_double() }}) as coverage_80,
    run.verdict like 'beats%' as beats_naive,
    chosen.first_origin_week,
    chosen.last_origin_week,
    {{ as_of_date() }} as as_of_date
from run
left join chosen on 1 = 1
left join naive on 1 = 1
left join best_baseline on 1 = 1
