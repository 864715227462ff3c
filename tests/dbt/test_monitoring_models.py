"""The monitoring layer computes what it says: metrics recomputed from raw, crafted rows."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from pathlib import Path

import pandas as pd
import pytest

import duckdb
from tests.dbt.conftest import AS_OF, DbtBuild, run_dbt

LAST_DAY = AS_OF - dt.timedelta(days=1)


def _metrics(db_path: Path) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute("select * from monitoring.monitoring_metrics_daily").df()


def _value(metrics: pd.DataFrame, metric: str, day: dt.date, dimension: str = "all",
           value: str = "all") -> tuple[float, int]:
    row = metrics[(metrics.metric == metric) & (metrics.dimension == dimension)
                  & (metrics.dimension_value == value)
                  & (pd.to_datetime(metrics.metric_date) == pd.Timestamp(day))]
    assert len(row) == 1, (metric, dimension, value, day)
    return float(row.value.iloc[0]), int(row.volume.iloc[0])


def _raw(db_path: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(f"select * from raw.{table}").df()


def _max_gap_hours(times: pd.Series, day: dt.date) -> float:
    """The longest run of empty 10-minute slots of ``day`` (slots counted from the day)."""
    start = pd.Timestamp(day)
    slots = sorted({int((t - start).total_seconds() // 600) for t in times})
    inside = [s for s in slots if 0 <= s < 144]
    before = [s for s in slots if s < 0]
    after = [s for s in slots if s >= 144]
    edges = [max(before, default=-1 - 10 ** 6), *inside, min(after, default=144)]
    gaps = [max(0, min(b, 144) - max(a + 1, 0)) for a, b in itertools.pairwise(edges)]
    return max(gaps) * 10 / 60


def test_the_monitoring_models_land_in_schema_monitoring(dbt_build: DbtBuild) -> None:
    nodes = {node["name"]: node for node in dbt_build.manifest["nodes"].values()
             if node["resource_type"] == "model"}
    assert nodes["monitoring_metrics_daily"]["schema"] == "monitoring"
    assert nodes["monitoring_metrics_scored"]["schema"] == "monitoring"
    assert nodes["monitoring_metrics_scored"]["language"] == "python"
    assert nodes["mart_metric_anomalies"]["schema"] == "marts"
    sources = {tuple(parent.split(".")[2:]) for parent in
               nodes["monitoring_metrics_daily"]["depends_on"]["nodes"]
               if parent.startswith("source.")}
    assert sources == {("app_db", t) for t in ("schools", "users", "referrals", "redemptions")} \
        | {("event_exports", t) for t in ("app_events", "receipts", "receipt_items",
                                          "rewards_ledger")}


def test_metrics_equal_what_raw_says_day_by_day(dbt_build: DbtBuild) -> None:
    metrics = _metrics(dbt_build.db_path)
    events = _raw(dbt_build.db_path, "app_events")
    receipts = _raw(dbt_build.db_path, "receipts")
    events["day"] = events.event_time.dt.date
    receipts["day"] = receipts.scanned_at.dt.date
    busiest = events[events.day >= LAST_DAY - dt.timedelta(days=30)].day.value_counts()
    for day in [LAST_DAY, *busiest.index[:3]]:
        on_day = events[events.day == day]
        assert _value(metrics, "app_events.row_count", day) == (len(on_day), len(on_day))
        assert _value(metrics, "app_events.properties.null_share", day)[0] == pytest.approx(
            on_day.properties.isna().mean())
        android = on_day[on_day.platform == "android"]
        if len(android):
            assert _value(metrics, "app_events.user_id.null_share", day, "platform",
                          "android") == (pytest.approx(android.user_id.isna().mean()),
                                         len(android))
        assert _value(metrics, "app_events.duplicate_share", day)[0] == 0.0
        assert _value(metrics, "app_events.max_gap_hours", day)[0] == pytest.approx(
            _max_gap_hours(events.event_time, day))
        scanned = receipts[receipts.day == day]
        if len(scanned):
            assert _value(metrics, "receipts.total_cents.sum", day)[0] == scanned.total_cents.sum()
            assert _value(metrics, "receipts.total_cents.mean", day)[0] == pytest.approx(
                scanned.total_cents.mean())
            assert _value(metrics, "receipt_rejection_rate", day)[0] == pytest.approx(
                (scanned.status == "rejected").mean())
    first_day = AS_OF - dt.timedelta(days=540)
    assert pd.to_datetime(metrics.metric_date).min() >= pd.Timestamp(first_day)
    assert pd.to_datetime(metrics.metric_date).max() == pd.Timestamp(LAST_DAY)


@pytest.mark.pipeline_run
def test_crafted_raw_rows_show_in_the_metrics(dbt_build: DbtBuild, tmp_path: Path) -> None:
    """A null burst on one platform, a replayed day and a lost day, made in raw by hand."""
    copy = tmp_path / "crafted.duckdb"
    shutil.copyfile(dbt_build.db_path, copy)
    burst, replay, lost = (LAST_DAY - dt.timedelta(days=k) for k in (1, 2, 3))
    with duckdb.connect(str(copy)) as con:
        con.execute("update raw.app_events set app_version = null "
                    "where platform = 'ios' and cast(event_time as date) = ?", [burst])
        con.execute("insert into raw.app_events select * replace "
                    "(event_id + 10000000 as event_id) from raw.app_events "
                    "where cast(event_time as date) = ?", [replay])
        con.execute("delete from raw.app_events where cast(event_time as date) = ?", [lost])
        ios = con.execute("select count(*) from raw.app_events where platform = 'ios' "
                          "and cast(event_time as date) = ?", [burst]).fetchone()[0]
        total = con.execute("select count(*) from raw.app_events "
                            "where cast(event_time as date) = ?", [burst]).fetchone()[0]
    result = run_dbt(["run", "--select", "monitoring_metrics_daily"], copy, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    metrics = _metrics(copy)
    assert ios > 0
    assert _value(metrics, "app_events.app_version.null_share", burst, "platform", "ios") == (
        1.0, ios)
    assert _value(metrics, "app_events.app_version.null_share", burst)[0] == pytest.approx(
        ios / total)
    assert _value(metrics, "app_events.duplicate_share", replay)[0] == 0.5
    assert _value(metrics, "app_events.row_count", lost) == (0.0, 0)
    assert _value(metrics, "app_events.max_gap_hours", lost) == (24.0, 0)
    no_value = metrics[(metrics.metric == "app_events.properties.null_share")
                       & (pd.to_datetime(metrics.metric_date) == pd.Timestamp(lost))]
    assert no_value.empty  # a share of no rows is no value, not 0


def test_the_anomaly_marts_cover_the_detection_period_and_the_history(
        dbt_build: DbtBuild) -> None:
    with duckdb.connect(str(dbt_build.db_path), read_only=True) as con:
        anomalies = con.execute("select * from marts.mart_metric_anomalies").df()
        history = con.execute("select * from marts.mart_metric_history").df()
        series = con.execute("select count(distinct (metric, dimension, dimension_value)) "
                             "from monitoring.monitoring_metrics_daily").fetchone()[0]
    days = sorted(pd.to_datetime(anomalies.metric_date).dt.date.unique())
    assert days == [LAST_DAY - dt.timedelta(days=k) for k in range(6, -1, -1)]
    assert anomalies.groupby(["metric", "dimension", "dimension_value"]).ngroups == series
    assert anomalies.reason.notna().all()
    scored = anomalies[anomalies.expected.notna()]
    assert (scored.lower <= scored.expected).all() and (scored.expected <= scored.upper).all()
    assert not anomalies.is_flagged.any()  # a clean build cries no wolf
    assert len(history) == series * 98  # 13 weeks of history blocks and the period
    assert set(history.period) == {"history", "detection"}
    assert pd.to_datetime(history.metric_date).min() == pd.Timestamp(
        LAST_DAY - dt.timedelta(days=97))
    detection = history[history.period == "detection"].drop(columns="period")
    assert len(detection) == len(anomalies)
