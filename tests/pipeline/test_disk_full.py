"""A full disk: refused up front when clearly too small, else recorded once with its cause.

Most tests inject ``ENOSPC`` at the write points (the manifest, the run log); the last
ones fill a real, small tmpfs and skip cleanly where mounting is not allowed.
"""

from __future__ import annotations

import errno
import json
import logging
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipeline import run_pipeline
from pipeline.lifecycle import disk_space, logging_setup
from pipeline.lifecycle.runner import EXIT_FAILED, PipelineRun
from pipeline.lifecycle.step_types import RunConfig, RunPlan, StepResult
from pipeline.records import manifest as manifest_io
from pipeline.records.run_manifest import RunManifest


def enospc(path: Path) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def run_steps(home: Path, *steps: tuple[str, Any]) -> tuple[int, dict[str, Any], PipelineRun]:
    config = RunConfig(home=home, run_id="full", seed=1, users=10, as_of=date(2026, 11, 1),
                       days=30)
    run = PipelineRun(config, RunPlan(steps))
    state = run.claim(time.monotonic())
    code = run.execute(state)
    return code, state.manifest.to_json(), run


def test_estimate_grows_with_users_and_history() -> None:
    small = disk_space.estimate_run_bytes(2_000, 540)
    assert small == disk_space.FIXED_BYTES + 2_000 * disk_space.BYTES_PER_USER
    assert disk_space.estimate_run_bytes(1_000_000, 540) > 3_000_000_000
    assert disk_space.estimate_run_bytes(2_000, 270) < small


@pytest.mark.pipeline_run
def test_a_home_too_small_for_the_run_is_refused_before_anything_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(disk_space, "free_bytes", lambda _folder: 10 * 1024**2)
    home = tmp_path / "home"
    code = run_pipeline.main(["--home", str(home), "--users", "2000", "--seed", "1",
                              "--as-of", "2026-11-01", "--quiet"])
    assert code == 1
    needed = disk_space.format_bytes(disk_space.estimate_run_bytes(2000, 540))
    assert capsys.readouterr().err == (
        f"run_pipeline.py: error: not enough free space in {home}: a run of 2,000 users over "
        f"540 days needs about {needed}, and 10.0 MiB is free\n")
    assert not home.exists()


@pytest.mark.pipeline_run
def test_manifest_write_failing_after_a_step_records_that_step_and_the_cause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = manifest_io.save
    calls: list[int] = []

    def save_failing_once_after_the_step(path: Path, document: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) == 2:  # 1: the step starts, 2: the step's result is recorded
            raise enospc(path)
        real_save(path, document)

    monkeypatch.setattr(manifest_io, "save", save_failing_once_after_the_step)
    later: list[str] = []
    code, _document, run = run_steps(tmp_path, ("generate", lambda _s: StepResult({"rows": 1})),
                                     ("load_raw", lambda _s: later.append("ran") or StepResult()))
    assert code == EXIT_FAILED
    assert later == []
    recorded = json.loads((tmp_path / "logs" / "pipeline_full.json").read_text())
    assert recorded["status"] == "failed"
    assert recorded["failed_step"] == "generate"
    needed = disk_space.format_bytes(disk_space.estimate_run_bytes(10, 30))
    assert recorded["error"] == (
        f"no space left on device in {tmp_path} (a run of this size needs about {needed}); "
        f"OSError: [Errno 28] No space left on device: "
        f"'{tmp_path / 'logs' / 'pipeline_full.json'}'")
    assert [s["status"] for s in recorded["steps"]] == ["failed"]
    assert run.unrecorded is None
    assert list((tmp_path / "logs").glob("*.tmp")) == []


@pytest.mark.pipeline_run
def test_an_unwritable_final_manifest_is_reported_not_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = manifest_io.save

    def save_until_the_disk_fills(path: Path, manifest: RunManifest) -> None:
        if manifest.status != "running" or manifest.steps[-1].status != "running":
            raise enospc(path)
        real_save(path, manifest)

    monkeypatch.setattr(manifest_io, "save", save_until_the_disk_fills)
    code, document, run = run_steps(tmp_path, ("generate", lambda _s: StepResult()))
    assert code == EXIT_FAILED
    assert document["failed_step"] == "generate"
    manifest = tmp_path / "logs" / "pipeline_full.json"
    assert run.unrecorded == (f"the manifest {manifest} could not be written: OSError: "
                              f"[Errno 28] No space left on device: '{manifest}'")


@pytest.mark.pipeline_run
def test_a_step_failing_on_a_full_disk_is_recorded_as_such(tmp_path: Path) -> None:
    def step_writing_to_a_full_disk(_state: Any) -> StepResult:
        raise RuntimeError("IO Error: Could not write file \"x.duckdb.building\": "
                           "No space left on device")

    code, document, _ = run_steps(tmp_path, ("load_raw", step_writing_to_a_full_disk))
    assert code == EXIT_FAILED
    assert document["failed_step"] == "load_raw"
    needed = disk_space.format_bytes(disk_space.estimate_run_bytes(10, 30))
    assert document["error"] == (
        f"no space left on device in {tmp_path} (a run of this size needs about {needed}); "
        "RuntimeError: IO Error: Could not write file \"x.duckdb.building\": "
        "No space left on device")


def test_a_failing_run_log_says_so_once_instead_of_a_traceback_per_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    handlers = logging_setup.configure(tmp_path / "run.log", quiet=True)
    handler = handlers[0]
    assert isinstance(handler, logging_setup.RunLogHandler)

    class FullDisk:
        def write(self, _text: str) -> None:
            raise enospc(tmp_path / "run.log")

        def flush(self) -> None:
            raise enospc(tmp_path / "run.log")

        def close(self) -> None:
            pass

    handler.stream = FullDisk()  # type: ignore[assignment]
    try:
        for line in range(5_000):
            logging.getLogger("pipeline.transform.commands").debug("dbt | line %d", line)
    finally:
        logging_setup.detach(handlers)
    assert capsys.readouterr().err == (
        f"run log {tmp_path / 'run.log'} stopped: OSError: [Errno 28] No space left on device: "
        f"'{tmp_path / 'run.log'}'\n")


# --------------------------------------------------------------------------- real tmpfs


@pytest.fixture
def small_tmpfs(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    size = request.param
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                             str(mount_point)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.pipeline_run
@pytest.mark.parametrize("small_tmpfs", ["24m"], indirect=True)
def test_a_real_24_mib_home_is_refused_up_front_for_2000_users(
        small_tmpfs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_pipeline.main(["--home", str(small_tmpfs), "--users", "2000", "--seed", "1",
                              "--as-of", "2026-11-01", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"run_pipeline.py: error: not enough free space in {small_tmpfs}: "
                          "a run of 2,000 users over 540 days needs about ")
    assert list(small_tmpfs.iterdir()) == []


@pytest.mark.pipeline_run
@pytest.mark.parametrize("small_tmpfs", ["14m"], indirect=True)
def test_a_disk_filling_mid_run_fails_once_with_its_cause_and_leaves_nothing_half_built(
        small_tmpfs: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # let the run start although it cannot fit, to fill the disk in the middle of a step
    monkeypatch.setattr(run_pipeline, "check_room", lambda *_args: None)
    code = run_pipeline.main(["--home", str(small_tmpfs), "--users", "2000", "--seed", "1",
                              "--as-of", "2026-11-01", "--run-id", "full"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert "--- Logging error ---" not in err
    assert len(err.splitlines()) < 40
    assert "no space left on device in " in err
    manifest = manifest_io.load(small_tmpfs / "logs" / "pipeline_full.json")
    if manifest is not None and manifest["status"] != "running":
        assert manifest["status"] == "failed"
        assert manifest["failed_step"] is not None
        assert manifest["error"].startswith(
            f"no space left on device in {small_tmpfs} (a run of this size needs about ")
    assert not (small_tmpfs / "duckdb" / "LATEST_DB.txt").exists()
    assert [p.name for p in (small_tmpfs / "duckdb").iterdir()
            if ".building" in p.name or p.suffix == ".duckdb"] == []
