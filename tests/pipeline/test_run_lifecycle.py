"""The run lifecycle end to end: publication, isolation, failure, interruption, concurrency."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import duckdb
from foundation.paths import DBT_PROJECT_DIR, REPO_ROOT
from pipeline import run_pipeline
from tests.conftest import TINY_ARGS, TinyRun, run_tiny

MANIFEST_KEYS = {
    "run_id", "status", "started_at", "finished_at", "duration_s", "params", "steps",
    "row_counts", "dbt", "snapshot", "pointer_updated", "previous_run_id", "versions",
    "git_commit", "failed_step", "error",
}
STEP_NAMES = ["generate", "load_raw", "source_freshness", "dbt_build", "schema_snapshot",
              "dbt_artifacts", "contracts", "schema_drift", "volume_anomalies",
              "metric_anomalies", "health", "report", "quality_gate", "record_ops", "dbt_docs",
              "publish"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_files(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "duckdb").iterdir() if p.name != ".publish.lock")


def test_tiny_run_publishes_a_complete_snapshot(tiny_run: TinyRun) -> None:
    manifest = tiny_run.manifest
    assert manifest.keys() >= MANIFEST_KEYS
    assert manifest["status"] == "success"
    assert manifest["pointer_updated"] is True
    assert manifest["failed_step"] is None and manifest["error"] is None
    assert [step["name"] for step in manifest["steps"]] == STEP_NAMES
    assert all(step["status"] == "ok" for step in manifest["steps"])
    assert all(step["duration_s"] >= 0 for step in manifest["steps"])
    assert manifest["params"] == {"seed": 7, "users": 300, "as_of": "2026-11-01",
                                  "days": manifest["params"]["days"], "faults": [],
                                  "engine": "duckdb"}
    assert manifest["versions"]["duckdb"] == duckdb.__version__
    assert manifest["versions"]["dbt"].startswith("1.11.")
    assert manifest["dbt"]["error"] == 0 and manifest["dbt"]["pass"] > 0
    assert manifest["row_counts"]["raw"]["users"] > 0
    assert manifest["row_counts"]["marts"]["dim_users"] == manifest["row_counts"]["raw"]["users"]
    assert manifest["snapshot"]["path"] == str(tiny_run.snapshot)
    assert manifest["snapshot"]["size_bytes"] == tiny_run.snapshot.stat().st_size
    assert tiny_run.pointer.read_text() == f"{tiny_run.snapshot.name}\n"
    assert (tiny_run.home / "logs" / "pipeline_tiny.log").stat().st_size > 0
    # the anomaly scoring ran in the build; a clean run has nothing flagged
    assert manifest["metric_anomalies"] == {"summary": {"causes": 0, "flagged_rows": 0},
                                            "causes": []}
    schema = json.loads((tiny_run.home / "logs" / "schema_tiny.json").read_text())
    assert {c["schema"] for c in schema["columns"]} >= {"raw", "staging", "marts", "ops"}
    assert snapshot_files(tiny_run.home) == ["LATEST_DB.txt", tiny_run.snapshot.name]


def test_snapshot_opens_read_only_and_describes_itself(tiny_run: TinyRun) -> None:
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        schemas = {row[0] for row in con.execute(
            "select distinct table_schema from information_schema.tables").fetchall()}
        run = con.execute("select run_id, status, users from ops.pipeline_runs").fetchall()
        with pytest.raises(duckdb.InvalidInputException):
            con.execute("create table marts.intruder (x int)")
    assert {"raw", "staging", "intermediate", "marts", "ops"} <= schemas
    assert run == [("tiny", "success", 300)]


@pytest.mark.pipeline_run
def test_second_run_is_isolated_and_moves_the_pointer(tmp_path: Path) -> None:
    assert run_tiny(tmp_path, "first") == 0
    first = tmp_path / "duckdb" / "carton_caps_first.duckdb"
    first_hash, first_mtime = sha256(first), first.stat().st_mtime_ns

    assert run_tiny(tmp_path, "second", "--seed", "8") == 0

    second = tmp_path / "duckdb" / "carton_caps_second.duckdb"
    assert (tmp_path / "duckdb" / "LATEST_DB.txt").read_text() == "carton_caps_second.duckdb\n"
    assert sha256(first) == first_hash and first.stat().st_mtime_ns == first_mtime
    manifest = json.loads((tmp_path / "logs" / "pipeline_second.json").read_text())
    assert manifest["previous_run_id"] == "first"
    assert manifest["params"]["seed"] == 8
    assert (tmp_path / "data" / "first").is_dir() and (tmp_path / "data" / "second").is_dir()
    with duckdb.connect(str(second), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_users").fetchone()[0] > 0


def _broken_dbt_project(tmp_path: Path) -> Path:
    project = tmp_path / "dbt_project_copy"
    shutil.copytree(DBT_PROJECT_DIR, project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (project / "tests" / "assert_forced_failure.sql").write_text(
        "-- fails on purpose: every user is a failing row\n"
        "select user_id from {{ ref('dim_users') }}\n"
    )
    return project


@pytest.mark.pipeline_run
def test_failed_dbt_build_leaves_pointer_and_previous_snapshot_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_tiny(tmp_path, "good") == 0
    good = tmp_path / "duckdb" / "carton_caps_good.duckdb"
    pointer = tmp_path / "duckdb" / "LATEST_DB.txt"
    good_hash, pointer_before = sha256(good), pointer.read_text()

    monkeypatch.setenv("CARTON_CAPS_DBT_PROJECT_DIR", str(_broken_dbt_project(tmp_path)))
    assert run_tiny(tmp_path, "bad") == 1

    manifest = json.loads((tmp_path / "logs" / "pipeline_bad.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["failed_step"] == "dbt_build"
    assert manifest["error"].startswith("dbt build failed: 1 failing node(s): ")
    assert "assert_forced_failure" in manifest["error"]
    assert manifest["pointer_updated"] is False
    assert [s["status"] for s in manifest["steps"]] == ["ok", "ok", "ok", "failed"]
    failing = [f["unique_id"] for f in manifest["dbt"]["failures"]]
    assert any(unique_id.endswith("assert_forced_failure") for unique_id in failing)
    assert pointer.read_text() == pointer_before
    assert sha256(good) == good_hash
    assert snapshot_files(tmp_path) == ["LATEST_DB.txt", good.name]


@pytest.mark.pipeline_run
@pytest.mark.parametrize(
    ("run_id", "message"),
    [
        ("../escape", "invalid --run-id '../escape': use 1-64 characters from A-Z, a-z, 0-9, "
                      "'_' and '-'"),
        ("has space", "invalid --run-id 'has space': use 1-64 characters from A-Z, a-z, 0-9, "
                      "'_' and '-'"),
        ("x" * 65, f"invalid --run-id '{'x' * 40}…': use 1-64 characters from A-Z, a-z, 0-9, "
                   "'_' and '-'"),
        ("", "invalid --run-id '': use 1-64 characters from A-Z, a-z, 0-9, '_' and '-'"),
    ],
)
def test_invalid_run_id_is_rejected_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_id: str, message: str
) -> None:
    exit_code = run_pipeline.main(["--home", str(tmp_path), "--run-id", run_id, *TINY_ARGS])
    assert exit_code == 2
    assert capsys.readouterr().err == f"run_pipeline.py: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.pipeline_run
def test_reused_run_id_is_rejected_and_the_earlier_run_kept(
    tiny_run: TinyRun, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest_before = tiny_run.manifest_path.read_text()
    assert run_tiny(tiny_run.home, "tiny") == 2
    assert capsys.readouterr().err == (
        "run_pipeline.py: error: run id 'tiny' is already used "
        "(logs/pipeline_tiny.json exists); choose another --run-id\n"
    )
    assert tiny_run.manifest_path.read_text() == manifest_before


@pytest.mark.pipeline_run
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "-5"], "--users must be a positive integer, got -5"),
        (["--users", "many"], "--users must be a whole number written with the digits 0-9, "
                              "got 'many'"),
        (["--users", "1_000"], "--users must be a whole number written with the digits 0-9, "
                               "got '1_000'"),
        (["--users", "٣٠٠"], "--users must be a whole number written with the digits 0-9, "
                             "got '٣٠٠'"),
        (["--as-of", "2026-13-01"], "--as-of must be a date like 2026-11-01 (YYYY-MM-DD), "
                                    "got '2026-13-01'"),
        (["--as-of", "20261101"], "--as-of must be a date like 2026-11-01 (YYYY-MM-DD), "
                                  "got '20261101'"),
        (["--as-of", "2026-W44-1"], "--as-of must be a date like 2026-11-01 (YYYY-MM-DD), "
                                    "got '2026-W44-1'"),
        (["--seed", "99999999999999999999999"],
         "--seed must be an integer between 0 and 9223372036854775807, got "
         "99999999999999999999999"),
        (["--faults", ""], "--faults is empty; name at least one fault class (duplicate_keys, "),
        (["--run-id", "x" * 10_000], f"invalid --run-id '{'x' * 40}…': use 1-64 characters"),
        (["--as-of", "9999-01-01"], "--as-of is out of range, got 9999-01-01"),
        (["--faults", "gremlins"], "unknown fault 'gremlins'; known: duplicate_keys, "),
        (["--seed", "-1"], "--seed must be an integer between 0 and 9223372036854775807, "
                           "got -1"),
        (["--days", "5"], "--days must be an integer between 14 and 3650, got 5"),
        (["--faults", "null_keys,null_keys"], "--faults names 'null_keys' more than once"),
        (["--faults", ","], "--faults has an empty name in ','; separate fault classes "
                            "with single commas"),
        (["--faults", "null_keys,,orphans"], "--faults has an empty name in "
                                             "'null_keys,,orphans'"),
        (["--as-of", "9000-01-01"], "--as-of must be at most tomorrow ("),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run_pipeline.main(["--home", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"run_pipeline.py: error: {message}")
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def _pipeline_process(home: Path, run_id: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "pipeline" / "run_pipeline.py"), "--home", str(home),
         "--run-id", run_id, *TINY_ARGS, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.pipeline_run
def test_two_concurrent_runs_both_publish_and_the_pointer_names_one(tmp_path: Path) -> None:
    first = _pipeline_process(tmp_path, "left")
    second = _pipeline_process(tmp_path, "right", "--seed", "8")
    outputs = [first.communicate(timeout=600), second.communicate(timeout=600)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    pointer = (tmp_path / "duckdb" / "LATEST_DB.txt").read_text().strip()
    assert pointer in {"carton_caps_left.duckdb", "carton_caps_right.duckdb"}
    for run_id in ("left", "right"):
        with duckdb.connect(str(tmp_path / "duckdb" / f"carton_caps_{run_id}.duckdb"),
                            read_only=True) as con:
            assert con.execute("select count(*) from marts.dim_users").fetchone()[0] > 0
        manifest = json.loads((tmp_path / "logs" / f"pipeline_{run_id}.json").read_text())
        assert manifest["status"] == "success"
        assert Path(manifest["artifacts"]["dbt_target"]).parent.name == run_id
    manifests = {run_id: json.loads((tmp_path / "logs" / f"pipeline_{run_id}.json").read_text())
                 for run_id in ("left", "right")}
    first, second = sorted(manifests, key=lambda run_id: manifests[run_id]["published_at"])
    # The lock makes "read the previous pointer, move it" one step per run: the second to
    # publish saw the first on the pointer, the first saw none.
    assert manifests[first]["previous_run_id"] is None and manifests[first]["pointer_updated"]
    assert manifests[second]["previous_run_id"] == first
    # Same as-of date: the pointer names the later start (pipeline/records/publication_order)
    newest = max(manifests, key=lambda run_id: (manifests[run_id]["started_at"], run_id))
    assert pointer == f"carton_caps_{newest}.duckdb"
    assert manifests[second]["pointer_updated"] is (second == newest)


def _wait_for_step(manifest: Path, step: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            document = json.loads(manifest.read_text())
        except (OSError, ValueError):
            document = {}
        if any(s["name"] == step for s in document.get("steps", [])):
            return
        time.sleep(0.05)
    raise AssertionError(f"step {step} never started")


@pytest.mark.pipeline_run
def test_sigterm_during_dbt_records_interrupted_and_keeps_pointer(tmp_path: Path) -> None:
    assert run_tiny(tmp_path, "before") == 0
    pointer = tmp_path / "duckdb" / "LATEST_DB.txt"
    process = _pipeline_process(tmp_path, "stopped")
    _wait_for_step(tmp_path / "logs" / "pipeline_stopped.json", "dbt_build")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    manifest = json.loads((tmp_path / "logs" / "pipeline_stopped.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["failed_step"] == "dbt_build"
    assert manifest["pointer_updated"] is False
    assert pointer.read_text() == "carton_caps_before.duckdb\n"
    assert snapshot_files(tmp_path) == ["LATEST_DB.txt", "carton_caps_before.duckdb"]


@pytest.mark.pipeline_run
def test_sigkill_mid_run_leaves_a_working_pointer_and_the_next_run_succeeds(
    tmp_path: Path,
) -> None:
    assert run_tiny(tmp_path, "survivor") == 0
    process = _pipeline_process(tmp_path, "killed")
    _wait_for_step(tmp_path / "logs" / "pipeline_killed.json", "dbt_build")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)

    pointer = tmp_path / "duckdb" / "LATEST_DB.txt"
    assert pointer.read_text() == "carton_caps_survivor.duckdb\n"
    with duckdb.connect(str(tmp_path / "duckdb" / "carton_caps_survivor.duckdb"),
                        read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_users").fetchone()[0] > 0

    assert run_tiny(tmp_path, "after") == 0
    killed = json.loads((tmp_path / "logs" / "pipeline_killed.json").read_text())
    assert killed["status"] == "interrupted"
    assert killed["error"] == (
        f"process {process.pid} on {killed['host']} was found dead by run after; "
        "the run was killed without a chance to clean up")
    assert killed["failed_step"] == "dbt_build"
    assert killed["finished_at"] is not None
    assert killed["steps"][-1]["status"] == "interrupted"
    assert pointer.read_text() == "carton_caps_after.duckdb\n"
    assert snapshot_files(tmp_path) == ["LATEST_DB.txt", "carton_caps_after.duckdb",
                                        "carton_caps_survivor.duckdb"]
