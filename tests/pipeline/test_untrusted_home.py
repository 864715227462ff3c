"""Every file read from a home is untrusted: planted, damaged, linked or odd files are
refused by name, never followed, never waited on, never fatal to an unrelated run."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import duckdb
from foundation import untrusted_files
from foundation.paths import HomePaths, RunPaths
from pipeline import run_pipeline, runs
from pipeline.lifecycle import sweep
from pipeline.lifecycle.runner import EXIT_FAILED, EXIT_OK, PipelineRun
from pipeline.lifecycle.step_types import RunConfig, RunPlan, RunState, StepResult
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import PointerError, read_pointer, write_pointer
from pipeline.records.run_manifest import RunManifest
from pipeline.steps.publish import step_publish
from pipeline.transform.commands import run_dbt
from pipeline.transform.invocation import DbtError, DbtInvocation


def config(home: Path, run_id: str = "next") -> RunConfig:
    return RunConfig(home=home, run_id=run_id, seed=1, users=10, as_of=date(2026, 11, 1),
                     days=30)


def execute(home: Path, *steps: tuple[str, Any], run_id: str = "next"
            ) -> tuple[int, dict[str, Any]]:
    run = PipelineRun(config(home, run_id), RunPlan(steps))
    state = run.claim(time.monotonic())
    return run.execute(state), json.loads(run.paths.manifest.read_text())


def plant(home: Path, name: str, content: str) -> Path:
    HomePaths(home).ensure()
    path = home / "logs" / name
    path.write_text(content)
    return path


def in_thread(function: Any, *args: Any, timeout: float = 20.0) -> Any:
    """Run ``function`` and fail (instead of hanging the suite) if it blocks."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = function(*args)
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"{function.__name__} blocked"
    if "error" in result:
        raise result["error"]
    return result.get("value")


# --------------------------------------------------------------------------- reading files


def test_untrusted_reads_refuse_links_fifos_folders_outside_paths_and_large_files(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "ok.json").write_text('{"a": 1}')
    (home / "link.json").symlink_to(home / "ok.json")
    os.mkfifo(home / "fifo")
    (home / "folder").mkdir()
    (tmp_path / "outside.json").write_text("{}")
    (home / "escape").symlink_to(tmp_path)
    (home / "big").write_bytes(b"x" * 101)
    (home / "cut.json").write_text('{"a": [1, 2')
    assert untrusted_files.read_json(home / "ok.json", home=home) == {"a": 1}
    expected = {
        "link.json": "link.json is a symbolic link: refused",
        "fifo": "fifo is a FIFO: refused",
        "folder": "folder is a folder: refused",
        "escape/outside.json": "escape/outside.json resolves outside the home: refused",
        "big": "big is 101 bytes, more than the 100 allowed: refused",
        "cut.json": "cut.json is not valid JSON, truncated or damaged (Expecting ',' "
                    "delimiter: line 1 column 12)",
    }
    for name, message in expected.items():
        with pytest.raises(untrusted_files.UntrustedFileError) as caught:
            in_thread(lambda path: untrusted_files.read_json(path, home=home, limit=100),
                      home / name)
        assert str(caught.value) == message
    (home / "deep.json").write_text("[" * 100_000)
    with pytest.raises(untrusted_files.UntrustedFileError) as caught:
        untrusted_files.read_json(home / "deep.json", home=home)
    assert str(caught.value) == "deep.json is nested too deeply to be read as JSON"
    with pytest.raises(FileNotFoundError):
        untrusted_files.read_bytes(home / "missing", home=home)


# --------------------------------------------------------------------------- the pointer


def test_a_pointer_linked_to_a_system_file_is_refused_without_quoting_it(
        tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    paths.ensure()
    paths.pointer.symlink_to("/etc/passwd")
    with pytest.raises(PointerError) as caught:
        read_pointer(paths)
    assert str(caught.value) == "duckdb/LATEST_DB.txt is a symbolic link: refused"


def test_a_pointer_linked_outside_the_home_to_a_valid_name_is_not_served(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    paths = HomePaths(home)
    paths.ensure()
    (paths.duckdb_dir / "carton_caps_r1.duckdb").write_bytes(b"")
    elsewhere = tmp_path / "LATEST_DB.txt"
    elsewhere.write_text("carton_caps_r1.duckdb\n")
    paths.pointer.symlink_to(elsewhere)
    with pytest.raises(PointerError, match="is a symbolic link: refused"):
        read_pointer(paths)
    assert runs.main(["--home", str(home), "verify"]) == runs.EXIT_USAGE
    assert capsys.readouterr().err == (
        "runs.py: error: duckdb/LATEST_DB.txt is a symbolic link: refused; name a RUN_ID or "
        "pass --all\n")


@pytest.mark.pipeline_run
def test_a_fifo_pointer_blocks_neither_runs_py_nor_a_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = HomePaths(tmp_path)
    paths.ensure()
    os.mkfifo(paths.pointer)
    assert in_thread(runs.main, ["--home", str(tmp_path), "list"]) == 0
    assert capsys.readouterr().out == (
        f"no runs in {paths.logs_dir}\npointer problem: duckdb/LATEST_DB.txt is a FIFO: "
        "refused; no run is marked as served\n")
    code, document = execute(tmp_path, ("generate", lambda _s: StepResult()))
    assert code == EXIT_OK
    assert document["previous_run_id"] is None


# --------------------------------------------------------------------------- manifests


@pytest.mark.pipeline_run
def test_a_run_publishes_beside_malformed_manifests_and_names_each_in_its_warnings(
        tmp_path: Path) -> None:
    plant(tmp_path, "pipeline_nullsteps.json",
          json.dumps({"run_id": "nullsteps", "status": "running", "pid": 999_999_999,
                      "host": os.uname().nodename, "steps": None}))
    plant(tmp_path, "pipeline_cut.json", '{"run_id": "cut", "status": "succ')
    plant(tmp_path, "pipeline_bad name.json", "{}")
    code, document = execute(tmp_path, ("generate", lambda _s: StepResult()))
    assert code == EXIT_OK
    assert document["status"] == "success" and document["error"] is None
    assert [w["message"] for w in document["warnings"]] == [
        "skipped logs/pipeline_bad name.json is not named pipeline_<run id>.json",
        "skipped logs/pipeline_cut.json is not valid JSON, truncated or damaged "
        "(Unterminated string starting at: line 1 column 29)",
        "skipped logs/pipeline_nullsteps.json is not a valid manifest (steps: None is not of "
        "type 'array')",
    ]


@pytest.mark.pipeline_run
def test_a_failure_outside_every_step_still_records_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def sweep_that_breaks(_paths: RunPaths) -> sweep.SweepReport:
        raise RuntimeError("the home is haunted")

    monkeypatch.setattr("pipeline.lifecycle.runner.sweep_abandoned", sweep_that_breaks)
    code, document = execute(tmp_path, ("generate", lambda _s: StepResult()))
    assert code == EXIT_FAILED
    assert (document["status"], document["failed_step"], document["error"]) == (
        "failed", None, "RuntimeError: the home is haunted")


def test_list_and_verify_name_the_truncated_manifest_of_the_served_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = RunPaths(home=tmp_path, run_id="served")
    paths.ensure()
    paths.snapshot.write_bytes(b"db")
    write_pointer(paths, paths.snapshot.name)
    paths.manifest.write_text('{"run_id": "served", "status": "success", "ste')
    assert runs.main(["--home", str(tmp_path), "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    reason = ("logs/pipeline_served.json is not valid JSON, truncated or damaged "
              "(Unterminated string starting at: line 1 column 43)")
    assert listed == [f"no runs in {paths.logs_dir}", f"skipped {reason}",
                      f"the served run served has no usable manifest: {reason}"]
    for args in ([], ["served"], ["--all"]):
        assert runs.main(["--home", str(tmp_path), "verify", *args]) == runs.EXIT_DAMAGED
        out = capsys.readouterr().out
        assert "DIFFERS" in out and f"unusable manifest: {reason.split(' ', 1)[1]}" in out
        assert out.splitlines()[-1] == "DAMAGED: logs/pipeline_served.json"
    assert runs.main(["--home", str(tmp_path), "show", "served"]) == runs.EXIT_USAGE
    assert capsys.readouterr().err == (
        f"runs.py: error: the manifest of run served cannot be used: {reason}\n")


def test_verify_reports_a_served_snapshot_without_any_manifest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = RunPaths(home=tmp_path, run_id="orphan")
    paths.ensure()
    paths.snapshot.write_bytes(b"db")
    write_pointer(paths, paths.snapshot.name)
    assert runs.main(["--home", str(tmp_path), "verify"]) == runs.EXIT_DAMAGED
    out = capsys.readouterr().out
    assert "MISSING" in out and out.splitlines()[-1] == "DAMAGED: logs/pipeline_orphan.json"


def test_run_ids_given_to_runs_py_are_checked_and_cut(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    HomePaths(tmp_path).ensure()
    assert runs.main(["--home", str(tmp_path), "show", "../" + "x" * 500]) == runs.EXIT_USAGE
    assert capsys.readouterr().err == (
        f"runs.py: error: '../{'x' * 37}…' is not a run id (1-64 characters from A-Z, a-z, "
        "0-9, '_' and '-')\n")


# --------------------------------------------------------------------------- clean-up, publish


@pytest.mark.pipeline_run
def test_a_clean_up_refused_by_the_folder_is_a_warning_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_paths: RunPaths) -> None:
        raise PermissionError(errno.EROFS, "Read-only file system", "x.duckdb.building")

    def failing_load(_state: RunState) -> StepResult:
        raise RuntimeError("IO Error: Cannot open file: Read-only file system")

    monkeypatch.setattr("pipeline.lifecycle.runner.remove_building_files", refuse)
    code, document = execute(tmp_path, ("load_raw", failing_load))
    assert code == EXIT_FAILED
    assert (document["status"], document["failed_step"]) == ("failed", "load_raw")
    assert document["error"] == "RuntimeError: IO Error: Cannot open file: Read-only file system"
    assert document["warnings"] == [{
        "step": None, "message": "could not remove the half-built snapshot: PermissionError: "
                                 "[Errno 30] Read-only file system: 'x.duckdb.building'"}]


@pytest.fixture
def read_only_duckdb(tmp_path: Path) -> Path:
    """A home whose duckdb/ is a read-only mount (root ignores permission bits)."""
    home = tmp_path / "home"
    HomePaths(home).ensure()
    folder = home / "duckdb"
    steps = (["mount", "--bind", str(folder), str(folder)],
             ["mount", "-o", "remount,bind,ro", str(folder)])
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)
            pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()}")
    yield home
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.pipeline_run
def test_a_read_only_duckdb_folder_is_refused_before_anything_is_written(
        read_only_duckdb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_pipeline.main(["--home", str(read_only_duckdb), "--users", "300", "--seed", "1",
                              "--as-of", "2026-11-01", "--quiet"])
    assert code == 1
    assert capsys.readouterr().err == (
        f"run_pipeline.py: error: cannot write to duckdb/ in {read_only_duckdb} (read-only or "
        "not permitted); nothing was written\n")
    assert list((read_only_duckdb / "logs").iterdir()) == []


@pytest.mark.pipeline_run
def test_publish_saves_its_record_before_signals_are_let_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill right after the pointer moved must find a verifiable, published record."""
    paths = RunPaths(home=tmp_path, run_id="next")
    paths.ensure()
    duckdb.connect(str(paths.building_snapshot)).close()
    saved: list[dict[str, Any]] = []
    real_save = manifest_io.save

    def recording_save(path: Path, manifest: RunManifest) -> None:
        saved.append(json.loads(json.dumps(manifest.to_json(), default=str)))
        real_save(path, manifest)

    monkeypatch.setattr(manifest_io, "save", recording_save)
    code, document = execute(tmp_path, ("publish", step_publish))
    assert code == EXIT_OK
    inside = [d for d in saved if d["pointer_updated"] and d["steps"][-1]["status"] == "running"]
    assert len(inside) == 1
    assert inside[0]["snapshot"]["sha256"] == document["snapshot"]["sha256"]
    assert inside[0]["published_at"] is not None


# --------------------------------------------------------------------------- messages


@pytest.mark.pipeline_run
def test_a_failed_first_run_does_not_claim_a_previous_snapshot_is_served(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_pipeline.main(["--home", str(tmp_path), "--users", "300", "--seed", "1",
                              "--as-of", "2026-11-01", "--faults", "null_keys",
                              "--run-id", "first", "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "  pointer unchanged; no snapshot has been published in this home yet\n" in err
    assert "still served" not in err


@pytest.mark.pipeline_run
def test_dbt_output_naming_a_full_disk_fails_the_command_even_when_dbt_exits_0(
        tmp_path: Path) -> None:
    script = ("print('--- Logging error ---'); "
              "print('OSError: [Errno 28] No space left on device')")
    invocation = DbtInvocation(
        db_path=tmp_path / "x.duckdb", work_dir=tmp_path / "dbt", as_of="2026-11-01",
        launcher=(sys.executable, "-c", script))
    with pytest.raises(DbtError) as caught:
        run_dbt(["build"], invocation)
    assert str(caught.value) == (
        "dbt build stopped: OSError: [Errno 28] No space left on device")
