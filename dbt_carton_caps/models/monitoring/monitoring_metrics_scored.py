"""Anomaly scores of every monitored metric series (docs/fault_detection.md, "Anomalies over time").

Reads monitoring_metrics_daily and scores each (metric, dimension, dimension_value) series
with pipeline.checks.series_anomalies (the same code the pipeline and the benchmark use),
under dbt_carton_caps/monitoring_settings.yml: for every day of the detection period
(the last complete days) and of the history before it, the expected value, the band, the
robust score, whether the day is flagged and why.

grain: one row per metric, dimension, dimension_value and metric_date of the scored days
(period 'history' or 'detection'); the marts mart_metric_anomalies and mart_metric_history
publish them under a contract.
"""

import pandas as pd
import pyarrow as pa

from pipeline.checks.series_anomalies import load_settings, score_metrics

FLOAT_COLUMNS = ("actual", "expected", "lower", "upper", "score", "volume")


def _to_pandas(relation, adapter_type=None) -> pd.DataFrame:
    """A dbt.ref() relation as a pandas DataFrame on every engine we target: dbt-duckdb
    hands Python models a DuckDBPyRelation (.df()), dbt-spark a pyspark DataFrame
    (.toPandas()); ``adapter_type`` (target.type, from the YAML config) picks, and
    duck-typing is the fallback."""
    if adapter_type == "duckdb":
        return relation.df()
    if adapter_type in ("spark", "databricks"):
        return relation.toPandas()
    if hasattr(relation, "toPandas"):  # pyspark DataFrame
        return relation.toPandas()
    if hasattr(relation, "df"):  # DuckDBPyRelation
        return relation.df()
    if isinstance(relation, pd.DataFrame):
        return relation
    raise TypeError(f"cannot convert {type(relation).__name__} to pandas")


def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas", "numpy", "pyarrow", "pyyaml", "scipy"])
    metrics = _to_pandas(dbt.ref("monitoring_metrics_daily"), dbt.config.get("adapter_type"))
    scores = score_metrics(metrics, load_settings())
    # nullable types: a missing number is NULL (not NaN) on every engine
    for column in FLOAT_COLUMNS:
        scores[column] = scores[column].astype("Float64")
    scores["is_flagged"] = scores["is_flagged"].astype("boolean")
    # a DATE on every engine, as in monitoring_metrics_daily: a datetime64[ns] column lands
    # as DuckDB's TIMESTAMP_NS but as Spark's TIMESTAMP; an Arrow date32 one is DATE on both
    # (and on DuckDB even with no rows, where a column of date objects would not be)
    scores["metric_date"] = scores["metric_date"].astype(pd.ArrowDtype(pa.date32()))
    return scores
