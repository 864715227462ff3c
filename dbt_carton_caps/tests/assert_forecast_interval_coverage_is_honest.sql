{{ config(severity='warn') }}
{#- Business anomaly (warn): the 80 % interval's measured back-test coverage (each origin
    judged by an interval calibrated without it) is far from 80 %, i.e. the band on the
    Finance page should not be read as an 80 % range for this run. -#}
select
    model_name,
    coverage_80
from {{ ref('mart_redemption_forecast_accuracy') }}
where coverage_80 < 0.65
   or coverage_80 > 0.95
