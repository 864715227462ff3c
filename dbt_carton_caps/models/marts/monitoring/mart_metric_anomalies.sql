{# grain: one row per metric, dimension, dimension_value and metric_date of the detection period (the last complete days the monitoring judges) #}
{#- Every monitored series on every day of the detection period, flagged or not, with the
    band it was judged against and the reason in words (monitoring_metrics_scored). A
    flagged row is a warning of the run, never a failure. -#}
with

scored as (

    select * from {{ ref('monitoring_metrics_scored') }}
    where period = 'detection'

)

select
    cast(metric as {{ dbt.type_string() }}) as metric,
    cast(dimension as {{ dbt.type_string() }}) as dimension,
    cast(dimension_value as {{ dbt.type_string() }}) as dimension_value,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(actual as {{ type_double() }}) as actual,
    cast(expected as {{ type_double() }}) as expected,
    cast(lower as {{ type_double() }}) as lower,
    cast(upper as {{ type_double() }}) as upper,
    cast(score as {{ type_double() }}) as score,
    cast(volume as {{ dbt.type_bigint() }}) as volume,
    cast(coalesce(is_flagged, false) as {{ dbt.type_boolean() }}) as is_flagged,
    cast(metric_date as date) as metric_date
from scored
