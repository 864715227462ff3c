"""A run builds the monitoring layer into its snapshot, under contract, and cries no wolf."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
from tests.conftest import TinyRun

MONITORING_TABLES = {("monitoring", "monitoring_metrics_daily"),
                     ("monitoring", "monitoring_metrics_scored"),
                     ("marts", "mart_metric_anomalies"),
                     ("marts", "mart_metric_history")}


def test_the_snapshot_holds_the_monitoring_layer_and_its_marts(tiny_run: TinyRun) -> None:
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        tables = set(con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('monitoring', 'marts')").fetchall())
        first, last, days = con.execute(
            "select min(metric_date), max(metric_date), count(distinct metric_date) "
            "from marts.mart_metric_anomalies").fetchone()
        flagged = con.execute("select count(*) from marts.mart_metric_anomalies "
                              "where is_flagged").fetchone()[0]
        series = con.execute("select count(distinct (metric, dimension, dimension_value)) "
                             "from marts.mart_metric_anomalies").fetchone()[0]
        contracts = con.execute(
            "select table_name, status from ops.contract_results "
            "where table_name in ('mart_metric_anomalies', 'mart_metric_history')").fetchall()
    assert tables >= MONITORING_TABLES
    assert (first, last, days) == (dt.date(2026, 10, 25), dt.date(2026, 10, 31), 7)
    assert series > 300
    assert flagged == 0  # a clean run raises no anomaly
    assert {table for table, _status in contracts} == {"mart_metric_anomalies",
                                                       "mart_metric_history"}
    assert {status for _table, status in contracts} == {"PASS"}


def test_the_run_built_and_tested_the_monitoring_models(tiny_run: TinyRun) -> None:
    target = tiny_run.home / "logs" / "dbt" / tiny_run.run_id / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    status = {r["unique_id"].split(".")[2]: r["status"] for r in results}
    for model in ("monitoring_metrics_daily", "monitoring_metrics_scored",
                  "mart_metric_anomalies", "mart_metric_history"):
        assert status[model] == "success", model
    tests = [name for name in status if "mart_metric" in name or "monitoring_metrics" in name]
    assert tests and all(status[name] in ("success", "pass") for name in tests)


def test_the_schema_snapshot_covers_the_monitoring_schema(tiny_run: TinyRun) -> None:
    document = json.loads((tiny_run.home / "logs" / "schema_tiny.json").read_text())
    tables = {(c["schema"], c["table"]) for c in document["columns"]}
    assert tables >= MONITORING_TABLES
