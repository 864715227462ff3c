{# grain: one row per metric, dimension, dimension_value and metric_date of the scored days (the history blocks and the detection period) #}
{#- Every monitored series day by day over the scored days, for charts: the value, the
    band it was judged against and whether the day was flagged (monitoring_metrics_scored:
    the 91 days before the detection period, each 7-day block judged against the 84 days
    before it, then the detection period). -#}
with

scored as (

    select * from {{ ref('monitoring_metrics_scored') }}

)

select
    cast(metric as {{ dbt.type_string() }}) as metric,
    cast(dimension as {{ dbt.type_string() }}) as dimension,
    cast(dimension_value as {{ dbt.type_string() }}) as dimension_value,
    cast(period as {{ dbt.type_string() }}) as period,
    cast(actual as {{ type_double() }}) as actual,
    cast(expected as {{ type_double() }}) as expected,
    cast(lower as {{ type_double() }}) as lower,
    cast(upper as {{ type_double() }}) as upper,
    cast(score as {{ type_double() }}) as score,
    cast(volume as {{ dbt.type_bigint() }}) as volume,
    cast(coalesce(is_flagged, false) as {{ dbt.type_boolean() }}) as is_flagged,
    cast(metric_date as date) as metric_date
from scored
