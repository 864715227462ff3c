"""The Anomalies page: each flagged series with its band and flagged days, told in words;
any metric's history when nothing is flagged; Home lists the flags among the findings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
from pipeline.checks import metric_anomalies
from pipeline.checks.dbt_graph import DbtGraph
from pipeline.checks.health import assess
from pipeline.records.run_manifest import RunManifest, RunParams
from tests.streamlit.conftest import open_page, texts, write_manifest

LAST = dt.date(2026, 11, 29)
DAYS = [LAST - dt.timedelta(days=n) for n in range(13, -1, -1)]
SERIES = (("app_events.row_count", "all", "all", 1000.0),
          ("app_events.row_count", "platform", "android", 400.0),
          ("dau", "all", "all", 100.0))
COLUMNS = ("metric varchar, dimension varchar, dimension_value varchar, reason varchar, "
           "actual double, expected double, lower double, upper double, score double, "
           "volume bigint, is_flagged boolean, metric_date date")


def _history_rows(outage: bool) -> list[tuple[object, ...]]:
    rows = []
    for metric, dimension, value, level in SERIES:
        for day in DAYS:
            hit = outage and day == LAST and value == "android"
            actual = 24.0 if hit else level
            rows.append((metric, dimension, value,
                         "detection" if day > LAST - dt.timedelta(days=7) else "history",
                         actual, level, level * 0.7, level * 1.3, -30.0 if hit else 0.1,
                         int(level), hit, day))
    return rows


def _home(home: Path, outage: bool) -> Path:
    (home / "duckdb").mkdir(parents=True)
    with duckdb.connect(str(home / "duckdb" / "carton_caps_r1.duckdb")) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.mart_metric_anomalies ({COLUMNS})")
        con.execute("create table marts.mart_metric_history (metric varchar, dimension "
                    "varchar, dimension_value varchar, period varchar, actual double, "
                    "expected double, lower double, upper double, score double, volume "
                    "bigint, is_flagged boolean, metric_date date)")
        history = _history_rows(outage)
        con.executemany("insert into marts.mart_metric_history values "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", history)
        con.executemany(
            "insert into marts.mart_metric_anomalies values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(m, d, v, "24 is 94 % below the expected 400" if flag else "within its band",
              a, e, lo, up, s, vol, flag, day)
             for m, d, v, period, a, e, lo, up, s, vol, flag, day in history
             if period == "detection"])
        causes = metric_anomalies.group_causes(metric_anomalies.read_flagged(con))
    manifest = RunManifest(run_id="r1", status="success", started_at=None, home=str(home),
                           params=RunParams(7, 300, "2026-11-30", 540, ()))
    manifest.metric_anomalies = metric_anomalies.to_manifest(causes, len(causes))
    health = assess(manifest, DbtGraph(), owners={
        "source.carton_caps.event_exports.app_events": "Engineering"})
    write_manifest(home, "r1", health=health.to_json(),
                   metric_anomalies=manifest.metric_anomalies)
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_r1.duckdb\n")
    return home


def _chart_traces(at: object) -> list[list[str]]:
    charts = at.get("plotly_chart")  # type: ignore[attr-defined]
    return [[trace.get("name", "") for trace in json.loads(c.proto.spec)["data"]]
            for c in charts]


def test_a_flagged_series_is_shown_with_its_band_and_explained_in_words(
        tmp_path: Path, use_home) -> None:
    use_home(_home(tmp_path, outage=True))
    at = open_page("views/anomalies.py")
    assert not at.exception
    (warning,) = [w for w in texts(at.warning) if "android" in w]
    assert warning.startswith(
        "**app_events.row_count for platform android -94 % on 2026-11-29**")
    traces = _chart_traces(at)
    assert len(traces) == 2  # the flagged series, then the history picker's
    assert {"expected band", "expected", "actual", "flagged"} <= set(traces[0])
    assert at.selectbox(key="anomaly_metric").value == "app_events.row_count"


def test_the_history_of_any_metric_is_shown_when_nothing_is_flagged(
        tmp_path: Path, use_home) -> None:
    use_home(_home(tmp_path, outage=False))
    at = open_page("views/anomalies.py")
    assert not at.exception
    assert any("Nothing flagged" in s for s in texts(at.success))
    at.selectbox(key="anomaly_metric").set_value("dau").run()
    assert at.selectbox(key="anomaly_dimension").options == ["all"]
    (traces,) = _chart_traces(at)
    assert "actual" in traces and "expected band" in traces


def test_home_lists_the_flag_among_the_findings(tmp_path: Path, use_home) -> None:
    use_home(_home(tmp_path, outage=True))
    at = open_page()
    assert not at.exception
    labels = [str(link.proto.label) for link in at.get("page_link")]
    assert any("app_events.row_count for platform android -94 % on 2026-11-29" in label
               .replace("\\", "") and "owner: Engineering" in label for label in labels), labels
