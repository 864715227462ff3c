"""Flagged metric anomalies: one cause per table, told by the slice that explains it, and
one warning finding each in the run's health (never a failure)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
from pipeline.checks import metric_anomalies
from pipeline.checks.dbt_graph import DbtGraph
from pipeline.checks.health import assess
from pipeline.checks.metric_anomalies import FlaggedDay, group_causes
from tests.pipeline.test_health import GRAPH, SRC_EVENTS, STG_EVENTS, node, run

DAY = dt.date(2026, 11, 29)
INT_ACTIVITY = "model.carton_caps.int_user_activity_daily"
GRAPH_WITH_DAU = DbtGraph.from_manifest({
    "sources": {SRC_EVENTS: node("raw", "app_events", kind="source")},
    "nodes": {STG_EVENTS: node("staging", "stg_event_exports__app_events", SRC_EVENTS),
              INT_ACTIVITY: node("intermediate", "int_user_activity_daily", STG_EVENTS)},
})


def flagged(metric: str, dimension: str, value: str, actual: float, expected: float,
            score: float, day: dt.date = DAY) -> FlaggedDay:
    return FlaggedDay(metric, dimension, value, day, actual, expected, score,
                      f"{actual:g} vs {expected:g}")


#: an Android outage: Android's events drop 94 %, the whole table 40 %, DAU with them
ANDROID_OUTAGE = [
    flagged("app_events.row_count", "all", "all", 600, 1000, -8.0),
    flagged("app_events.row_count", "platform", "android", 24, 400, -30.0),
    flagged("app_events.row_count", "platform", "ios", 580, 600, -5.5),
    flagged("app_events.max_gap_hours", "platform", "android", 24, 1, 40.0),
    flagged("dau", "all", "all", 70, 100, -6.0),
]


def test_a_platform_outage_is_one_cause_told_by_the_platform() -> None:
    causes = group_causes(ANDROID_OUTAGE)
    assert [c.table for c in causes] == ["app_events", "dau"]
    events = causes[0]
    assert (events.metric, events.dimension, events.dimension_value) == (
        "app_events.row_count", "platform", "android")
    assert events.days == (DAY,) and events.flagged_rows == 4
    assert events.describe() == "app_events.row_count for platform android -94 % on 2026-11-29"


def test_a_whole_table_outage_is_told_by_the_table_not_by_a_slice() -> None:
    rows = [flagged("app_events.row_count", "all", "all", 100, 1000, -20.0),
            flagged("app_events.row_count", "platform", "android", 38, 400, -15.0),
            flagged("app_events.row_count", "platform", "ios", 62, 600, -16.0)]
    (cause,) = group_causes(rows)
    assert (cause.dimension, cause.dimension_value) == ("all", "all")
    assert cause.describe() == "app_events.row_count -90 % on 2026-11-29"


def test_consecutive_days_are_one_cause_and_a_replay_is_told_by_its_duplicates() -> None:
    later = DAY + dt.timedelta(days=1)
    rows = [flagged("app_events.row_count", "all", "all", 2000, 1000, 9.0),
            flagged("app_events.duplicate_share", "all", "all", 0.5, 0.0, 50.0),
            flagged("receipts.total_cents.mean", "all", "all", 4.2, 420, -12.0),
            flagged("receipts.total_cents.mean", "all", "all", 4.1, 410, -12.5, later)]
    causes = {c.table: c for c in group_causes(rows)}
    assert causes["app_events"].metric == "app_events.duplicate_share"
    assert causes["receipts"].days == (DAY, later)
    assert causes["receipts"].describe().endswith("-99 % from 2026-11-29 to 2026-11-30")


def test_the_mart_is_read_from_the_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "snap.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.mart_metric_anomalies (metric varchar, "
                    "dimension varchar, dimension_value varchar, reason varchar, "
                    "actual double, expected double, lower double, upper double, "
                    "score double, volume bigint, is_flagged boolean, metric_date date)")
        con.execute("insert into marts.mart_metric_anomalies values "
                    "('dau', 'all', 'all', 'low', 10, 100, 80, 120, -9, 10, true, ?), "
                    "('dau', 'platform', 'ios', 'ok', 50, 50, 40, 60, 0, 50, false, ?)",
                    [DAY, DAY])
    (cause,) = metric_anomalies.assess_snapshot(db)
    assert (cause.table, cause.actual, cause.expected, cause.days) == ("dau", 10, 100, (DAY,))
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert metric_anomalies.assess_snapshot(empty) == []  # a run without the mart


def test_each_cause_is_a_warning_finding_linked_to_the_anomalies_page() -> None:
    causes = group_causes(ANDROID_OUTAGE)
    manifest = run(metric_anomalies=metric_anomalies.to_manifest(causes, 5))
    health = assess(manifest, GRAPH_WITH_DAU, owners={SRC_EVENTS: "Engineering"})
    (finding,) = health.findings  # the DAU drop is downstream of the events' outage
    assert health.status == "warnings"
    assert (finding.severity, finding.category, finding.subject, finding.page, finding.owner) \
        == ("warning", "anomaly", SRC_EVENTS, "anomalies", "Engineering")
    assert finding.title == ("app_events (raw.app_events): app_events.row_count for platform "
                             "android -94 % on 2026-11-29 (actual 24, expected 400)")
    assert [s.subject for s in finding.consequences] == [INT_ACTIVITY]


def test_anomalies_never_fail_a_run_and_an_unknown_series_is_ignored() -> None:
    causes = group_causes([*ANDROID_OUTAGE,
                           flagged("receipt_rejection_rate", "all", "all", 0.4, 0.05, 30.0)])
    section = metric_anomalies.to_manifest(causes, 6)
    section["causes"].append({"table": "not_a_series", "metric": "not_a_series"})
    health = assess(run(metric_anomalies=section), GRAPH)
    assert health.status == "warnings"
    assert {f.severity for f in health.findings} == {"warning"}
    assert {f.subject for f in health.findings} == {
        SRC_EVENTS, "model.carton_caps.fct_receipts", "model.carton_caps.int_user_activity_daily"}


def test_two_incidents_on_one_table_are_two_causes_and_two_findings() -> None:
    """A run with a null burst on the 29th and an Android outage five days later listed
    one app_events finding, told by the null share: the outage was nowhere on Home."""
    outage_day = DAY + dt.timedelta(days=5)
    rows = [flagged("app_events.properties.null_share", "all", "all", 0.92, 0.11, 25.8),
            flagged("app_events.properties.null_share", "platform", "ios", 0.92, 0.12, 19.6),
            *[dataclasses.replace(r, day=outage_day) for r in ANDROID_OUTAGE]]
    causes = group_causes(rows)
    assert [(c.table, c.metric, c.dimension_value, c.days) for c in causes] == [
        ("app_events", "app_events.row_count", "android", (outage_day,)),
        ("app_events", "app_events.properties.null_share", "all", (DAY,)),
        ("dau", "dau", "all", (outage_day,))]
    health = assess(run(metric_anomalies=metric_anomalies.to_manifest(causes, 7)),
                    GRAPH_WITH_DAU)
    titles = sorted(f.title for f in health.findings)
    assert titles == [
        "app_events (raw.app_events): app_events.properties.null_share +736 % on 2026-11-29 "
        "(actual 0.92, expected 0.11)",
        "app_events (raw.app_events): app_events.row_count for platform android -94 % on "
        "2026-12-04 (actual 24, expected 400)"]
    assert len({f.finding_id for f in health.findings}) == 2
    outage = next(f for f in health.findings if "android" in f.title)
    assert [s.subject for s in outage.consequences] == [INT_ACTIVITY]  # the same day's DAU
