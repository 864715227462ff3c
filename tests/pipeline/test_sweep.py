"""Settling runs that were killed outright (SIGKILL) at each point of their life."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from foundation.paths import RunPaths
from pipeline import manifest as manifest_io
from pipeline.dbt_runner import DB_LINK_NAME
from pipeline.pointer import write_pointer
from pipeline.runner import sweep_abandoned


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def killed_run(home: Path, run_id: str, *, pid: int, host: str | None = None) -> RunPaths:
    paths = RunPaths(home=home, run_id=run_id)
    paths.ensure()
    document = manifest_io.new_document(run_id, home=home, params={}, previous_run_id=None,
                                        started_at=datetime(2026, 11, 1, tzinfo=UTC))
    document["pid"] = pid
    document["host"] = host or socket.gethostname()
    manifest_io.save(paths.manifest, document)
    return paths


def status_of(paths: RunPaths) -> dict:
    return json.loads(paths.manifest.read_text())


@pytest.fixture
def sweeper(tmp_path: Path) -> RunPaths:
    return RunPaths(home=tmp_path, run_id="sweeper")


def test_killed_while_building_is_marked_interrupted_and_its_file_removed(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    pid = dead_pid()
    killed = killed_run(tmp_path, "killed", pid=pid)
    killed.building_snapshot.write_bytes(b"half")
    assert sweep_abandoned(sweeper) == ["killed"]
    assert not killed.building_snapshot.exists()
    document = status_of(killed)
    assert document["status"] == "interrupted"
    assert document["error"] == (
        f"process {pid} on {socket.gethostname()} was found dead by run sweeper; "
        "the run was killed without a chance to clean up")


def test_a_settled_run_reads_like_a_finished_one(tmp_path: Path, sweeper: RunPaths) -> None:
    """Settled after SIGKILL: when it was settled, the step it died in, and why."""
    pid = dead_pid()
    killed = killed_run(tmp_path, "killed", pid=pid)
    document = status_of(killed)
    document["steps"] = [
        {"name": "generate", "status": "ok", "started_at": "2026-11-01T00:00:00.000+00:00",
         "duration_s": 1.0, "error": None},
        {"name": "load_raw", "status": "running", "started_at": "2026-11-01T00:00:01.000+00:00",
         "duration_s": None, "error": None},
    ]
    manifest_io.save(killed.manifest, document)
    before = datetime.now(UTC)
    assert sweep_abandoned(sweeper) == ["killed"]
    settled = status_of(killed)
    cause = (f"process {pid} on {socket.gethostname()} was found dead by run sweeper; "
             "the run was killed without a chance to clean up")
    assert settled["status"] == "interrupted"
    assert settled["failed_step"] == "load_raw"
    assert settled["error"] == cause
    assert datetime.fromisoformat(settled["finished_at"]) >= before.replace(microsecond=0)
    assert [(s["name"], s["status"], s["error"]) for s in settled["steps"]] == [
        ("generate", "ok", None), ("load_raw", "interrupted", cause)]


def test_killed_between_rename_and_pointer_move_leaves_no_unpublished_snapshot(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    killed = killed_run(tmp_path, "renamed", pid=dead_pid())
    killed.snapshot.write_bytes(b"complete but never published")
    assert sweep_abandoned(sweeper) == ["renamed"]
    assert not killed.snapshot.exists()
    assert status_of(killed)["status"] == "interrupted"
    assert status_of(killed)["pointer_updated"] is False


def test_killed_after_the_pointer_moved_is_recorded_as_the_success_it_was(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    killed = killed_run(tmp_path, "published", pid=dead_pid())
    killed.snapshot.write_bytes(b"published snapshot")
    write_pointer(killed, killed.snapshot.name)
    assert sweep_abandoned(sweeper) == ["published"]
    assert killed.snapshot.read_bytes() == b"published snapshot"
    document = status_of(killed)
    assert document["status"] == "success"
    assert document["pointer_updated"] is True
    stat = killed.snapshot.stat()
    assert document["snapshot"] == {
        "path": str(killed.snapshot), "size_bytes": len(b"published snapshot"),
        "sha256": hashlib.sha256(b"published snapshot").hexdigest(),
        "mtime": document["snapshot"]["mtime"], "mtime_ns": stat.st_mtime_ns}


def test_live_runs_and_runs_of_other_hosts_are_left_alone(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    live = killed_run(tmp_path, "live", pid=os.getpid())
    live.building_snapshot.write_bytes(b"in progress")
    remote = killed_run(tmp_path, "remote", pid=dead_pid(), host="another-host")
    remote.building_snapshot.write_bytes(b"elsewhere")
    assert sweep_abandoned(sweeper) == []
    assert live.building_snapshot.exists() and remote.building_snapshot.exists()
    assert status_of(live)["status"] == status_of(remote)["status"] == "running"


def test_a_run_killed_during_dbt_leaves_no_link_keeping_its_snapshot_on_disk(
        tmp_path: Path) -> None:
    paths = killed_run(tmp_path, "killed_in_dbt", pid=dead_pid())
    paths.building_snapshot.write_bytes(b"half built")
    paths.dbt_dir.mkdir(parents=True)
    (paths.dbt_dir / DB_LINK_NAME).hardlink_to(paths.building_snapshot)
    (paths.dbt_dir / f"{DB_LINK_NAME}.wal").write_bytes(b"wal")
    assert sweep_abandoned(RunPaths(home=tmp_path, run_id="next")) == ["killed_in_dbt"]
    assert not paths.building_snapshot.exists()
    assert sorted(p.name for p in paths.dbt_dir.iterdir()) == []
