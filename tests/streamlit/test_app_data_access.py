"""The data-access module: run discovery, read-only per-query connections, schema diff."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import duckdb
from foundation.paths import HomePaths
from streamlit_app import data_access
from tests.streamlit.conftest import write_manifest


def _snapshot(home: Path, run_id: str) -> Path:
    path = home / "duckdb" / f"carton_caps_{run_id}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.mart_daily_engagement as select "
                    "date '2026-10-30' as activity_date, 5 as dau, 9 as wau, 12 as mau, "
                    "5 / 12 as stickiness")
    return path


def test_successful_runs_are_newest_first_and_need_their_snapshot(tmp_path: Path) -> None:
    _snapshot(tmp_path, "a")
    _snapshot(tmp_path, "c")
    write_manifest(tmp_path, "a", started_at="2026-01-01T00:00:00+00:00")
    write_manifest(tmp_path, "b", status="failed", started_at="2026-01-02T00:00:00+00:00")
    write_manifest(tmp_path, "c", started_at="2026-01-03T00:00:00+00:00")
    write_manifest(tmp_path, "d", started_at="2026-01-04T00:00:00+00:00")  # file deleted
    paths = HomePaths(tmp_path)
    assert data_access.successful_runs(paths) == ["c", "a"]
    assert data_access.previous_successful_run("c", paths) == "a"
    assert data_access.previous_successful_run("a", paths) is None
    assert data_access.previous_successful_run("b", paths) is None


def test_resolve_latest_follows_a_new_publish(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    _snapshot(tmp_path, "one")
    paths.pointer.write_text("carton_caps_one.duckdb\n")
    assert data_access.resolve_latest(paths).run_id == "one"
    _snapshot(tmp_path, "two")
    paths.pointer.write_text("carton_caps_two.duckdb\n")
    choice = data_access.resolve_latest(paths)
    assert (choice.run_id, choice.path, choice.note) == (
        "two", tmp_path / "duckdb" / "carton_caps_two.duckdb", None)


def test_queries_hold_no_connection_open(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, "r")
    frame = data_access.daily_engagement(snapshot)
    assert list(frame["dau"]) == [5]
    # a writer in this process would fail if a read-only connection were still open
    with duckdb.connect(str(snapshot)) as con:
        con.execute("create table marts.extra as select 1 as x")


def test_date_filters_are_parameters(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, "r")
    assert data_access.daily_engagement(snapshot, pd.Timestamp("2026-10-31").date(),
                                        None).empty
    assert data_access.date_bounds(snapshot, "engagement") == (
        pd.Timestamp("2026-10-30").date(), pd.Timestamp("2026-10-30").date())


def test_missing_table_raises_data_unavailable_with_its_name(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, "r")
    with pytest.raises(data_access.DataUnavailable) as caught:
        data_access.retention_cohorts(snapshot)
    assert str(caught.value) == ("marts.mart_retention_cohorts is not in snapshot "
                                 "carton_caps_r.duckdb (built before that table existed).")


def test_log_tail_returns_the_last_lines(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "pipeline_r.log").write_text("\n".join(f"l{i}" for i in range(500)))
    assert data_access.log_tail("r", 3, HomePaths(tmp_path)) == "l497\nl498\nl499"
    assert data_access.log_tail("missing", 3, HomePaths(tmp_path)) is None


def test_runs_frame_summarises_manifests() -> None:
    manifests = [{"run_id": "a", "status": "success", "started_at": "2026-01-01T00:00:00Z",
                  "duration_s": 12.5, "row_counts": {"raw": {"t": 3, "u": 4}, "marts": {"m": 2}},
                  "dbt": {"pass": 10, "warn": 1, "error": 0},
                  "steps": [{"name": "generate", "duration_s": 1.0, "status": "ok"}]},
                 {"run_id": "b", "status": "failed", "failed_step": "load_raw",
                  "error": "boom", "steps": []}]
    runs = data_access.runs_frame(manifests)
    assert runs[["run_id", "status", "raw_rows", "mart_rows"]].to_dict("records")[0] == {
        "run_id": "a", "status": "success", "raw_rows": 7, "mart_rows": 2}
    assert data_access.run_failures(manifests)[["run_id", "failed_step", "error"]] \
        .to_dict("records") == [{"run_id": "b", "failed_step": "load_raw", "error": "boom"}]
    assert data_access.step_durations(manifests)["step"].tolist() == ["generate"]


def test_run_status_tells_abandoned_runs_from_live_ones() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    here = socket.gethostname()
    running = {"run_id": "r", "status": "running", "host": here}
    assert data_access.run_status({**running, "pid": process.pid}) == "abandoned"
    assert data_access.run_status({**running, "pid": os.getpid()}) == "running"
    # another host's process, or no usable pid, cannot be checked from here
    assert data_access.run_status({**running, "pid": process.pid,
                                   "host": here + "-elsewhere"}) == "running"
    assert data_access.run_status({**running, "pid": None}) == "running"
    assert data_access.run_status({**running, "pid": "12"}) == "running"
    assert data_access.run_status({"run_id": "r", "status": "failed", "host": here,
                                   "pid": process.pid}) == "failed"
