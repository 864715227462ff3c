{# grain: one row per metric, dimension, dimension_value and metric_date over the monitored history (monitoring_history_days) #}
{#- Every monitored series day by day, for charts: the value and its volume over the whole
    history, and for the scored days (the history blocks and the detection period) the
    expected value, the band and whether the day was flagged. -#}
with

metrics as (

    select * from {{ ref('monitoring_metrics_daily') }}

),

scored as (

    select * from {{ ref('monitoring_metrics_scored') }}

)

select
    cast(metrics.metric as {{ dbt.type_string() }}) as metric,
    cast(metrics.dimension as {{ dbt.type_string() }}) as dimension,
    cast(metrics.dimension_value as {{ dbt.type_string() }}) as dimension_value,
    cast(scored.period as {{ dbt.type_string() }}) as period,
    cast(metrics.value as {{ type_double() }}) as actual,
    cast(scored.expected as {{ type_double() }}) as expected,
    cast(scored.lower as {{ type_double() }}) as lower,
    cast(scored.upper as {{ type_double() }}) as upper,
    cast(scored.score as {{ type_double() }}) as score,
    cast(metrics.volume as {{ dbt.type_bigint() }}) as volume,
    cast(coalesce(scored.is_flagged, false) as {{ dbt.type_boolean() }}) as is_flagged,
    cast(metrics.metric_date as date) as metric_date
from metrics
left join scored
    on metrics.metric = scored.metric
    and metrics.dimension = scored.dimension
    and metrics.dimension_value = scored.dimension_value
    and metrics.metric_date = cast(scored.metric_date as date)
