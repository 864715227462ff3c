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

from foundation.paths import DBT_DB_LINK_NAME as DB_LINK_NAME
from foundation.paths import RunPaths
from pipeline.lifecycle.sweep import sweep_abandoned
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import write_pointer
from tests.conftest import TinyRun


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def killed_run(home: Path, run_id: str, *, pid: int, host: str | None = None) -> RunPaths:
    paths = RunPaths(home=home, run_id=run_id)
    paths.ensure()
    manifest = manifest_io.new_manifest(run_id, home=home, params=None, previous_run_id=None,
                                        started_at=datetime(2026, 11, 1, tzinfo=UTC))
    manifest.pid = pid
    manifest.host = host or socket.gethostname()
    manifest_io.save(paths.manifest, manifest)
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
    assert sweep_abandoned(sweeper).swept == ["killed"]
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
    # the manifest was last written 90 s after the run started: as near to its death as
    # the files tell
    last_write = datetime(2026, 11, 1, 0, 1, 30, tzinfo=UTC).timestamp()
    os.utime(killed.manifest, (last_write, last_write))
    assert sweep_abandoned(sweeper).swept == ["killed"]
    settled = status_of(killed)
    cause = (f"process {pid} on {socket.gethostname()} was found dead by run sweeper; "
             "the run was killed without a chance to clean up")
    assert settled["status"] == "interrupted"
    assert settled["failed_step"] == "load_raw"
    assert settled["error"] == cause
    assert settled["finished_at"] == "2026-11-01T00:01:30.000+00:00"
    assert settled["duration_s"] == 90.0
    assert [(s["name"], s["status"], s["duration_s"], s["error"])
            for s in settled["steps"]] == [("generate", "ok", 1.0, None),
                                           ("load_raw", "interrupted", 89.0, cause)]


def test_killed_between_rename_and_pointer_move_leaves_no_unpublished_snapshot(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    killed = killed_run(tmp_path, "renamed", pid=dead_pid())
    killed.snapshot.write_bytes(b"complete but never published")
    assert sweep_abandoned(sweeper).swept == ["renamed"]
    assert not killed.snapshot.exists()
    assert status_of(killed)["status"] == "interrupted"
    assert status_of(killed)["pointer_updated"] is False


def test_killed_after_the_pointer_moved_is_recorded_as_the_success_it_was(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    killed = killed_run(tmp_path, "published", pid=dead_pid())
    killed.snapshot.write_bytes(b"published snapshot")
    write_pointer(killed, killed.snapshot.name)
    assert sweep_abandoned(sweeper).swept == ["published"]
    assert killed.snapshot.read_bytes() == b"published snapshot"
    document = status_of(killed)
    assert document["status"] == "success"
    assert document["pointer_updated"] is True
    stat = killed.snapshot.stat()
    assert document["snapshot"] == {
        "path": str(killed.snapshot), "size_bytes": len(b"published snapshot"),
        "sha256": hashlib.sha256(b"published snapshot").hexdigest(),
        "mtime": document["snapshot"]["mtime"], "mtime_ns": stat.st_mtime_ns}
    # its records read like a finished run's: it ended when the pointer moved
    pointer_moved = datetime.fromtimestamp(killed.pointer.stat().st_mtime, UTC)
    assert datetime.fromisoformat(document["finished_at"]) == pointer_moved.replace(
        microsecond=pointer_moved.microsecond // 1000 * 1000)
    assert document["duration_s"] == round(
        (pointer_moved - datetime(2026, 11, 1, tzinfo=UTC)).total_seconds(), 3)
    assert document["warnings"] == [{
        "step": "publish", "message": "the run's process died after it published; run "
                                      "sweeper finished its records"}]


def test_killed_inside_publish_after_its_record_was_saved_closes_the_publish_step(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    """The record publish saves while signals are held: a kill after it leaves nothing
    running, and the run is verifiable and finished at the moment it published."""
    killed = killed_run(tmp_path, "published", pid=dead_pid())
    killed.snapshot.write_bytes(b"published snapshot")
    write_pointer(killed, killed.snapshot.name)
    (killed.duckdb_dir / f"LATEST_DB.txt.{status_of(killed)['pid']}.tmp").write_text("x")
    document = status_of(killed)
    document["steps"] = [{"name": "publish", "status": "running",
                          "started_at": "2026-11-01T00:00:40.000+00:00", "duration_s": None,
                          "error": None}]
    document["pointer_updated"] = True
    document["published_at"] = "2026-11-01T00:00:41.500+00:00"
    document["snapshot"] = {"path": str(killed.snapshot), "size_bytes": 18, "mtime_ns": 1,
                            "sha256": hashlib.sha256(b"published snapshot").hexdigest()}
    manifest_io.save(killed.manifest, document)
    assert sweep_abandoned(sweeper).swept == ["published"]
    settled = status_of(killed)
    assert (settled["status"], settled["finished_at"], settled["duration_s"]) == (
        "success", "2026-11-01T00:00:41.500+00:00", 41.5)
    assert [(s["name"], s["status"], s["duration_s"]) for s in settled["steps"]] == [
        ("publish", "ok", 1.5)]
    assert settled["snapshot"]["mtime_ns"] == 1  # its own record is kept, not retaken
    assert sorted(p.name for p in killed.duckdb_dir.iterdir()) == [
        "LATEST_DB.txt", "carton_caps_published.duckdb"]


def test_live_runs_and_runs_of_other_hosts_are_left_alone(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    live = killed_run(tmp_path, "live", pid=os.getpid())
    live.building_snapshot.write_bytes(b"in progress")
    remote = killed_run(tmp_path, "remote", pid=dead_pid(), host="another-host")
    remote.building_snapshot.write_bytes(b"elsewhere")
    assert sweep_abandoned(sweeper).swept == []
    assert live.building_snapshot.exists() and remote.building_snapshot.exists()
    assert status_of(live)["status"] == status_of(remote)["status"] == "running"


def test_a_run_killed_during_dbt_leaves_no_link_keeping_its_snapshot_on_disk(
        tmp_path: Path) -> None:
    paths = killed_run(tmp_path, "killed_in_dbt", pid=dead_pid())
    paths.building_snapshot.write_bytes(b"half built")
    paths.dbt_dir.mkdir(parents=True)
    (paths.dbt_dir / DB_LINK_NAME).hardlink_to(paths.building_snapshot)
    (paths.dbt_dir / f"{DB_LINK_NAME}.wal").write_bytes(b"wal")
    assert sweep_abandoned(RunPaths(home=tmp_path, run_id="next")).swept == ["killed_in_dbt"]
    assert not paths.building_snapshot.exists()
    assert sorted(p.name for p in paths.dbt_dir.iterdir()) == []


# --------------------------------------------------------------------------- untrusted manifests


def test_a_malformed_running_manifest_is_skipped_by_name_never_fatal(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    """``steps: null`` used to stop every later run with "failed step: None: None"."""
    paths = killed_run(tmp_path, "broken", pid=dead_pid())
    document = status_of(paths)
    document["steps"] = None
    paths.manifest.write_text(json.dumps(document))
    report = sweep_abandoned(sweeper)
    assert report.swept == []
    assert report.warnings == [
        "skipped logs/pipeline_broken.json is not a valid manifest (steps: None is not of "
        "type 'array')"]
    assert status_of(paths)["steps"] is None  # reported, not rewritten


def test_a_manifest_naming_a_path_outside_the_home_deletes_nothing_there(
    tmp_path: Path,
) -> None:
    """``"run_id": "../../../victim"`` used to make the sweep delete the victim's files."""
    home = tmp_path / "a" / "b" / "home"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "carton_caps.duckdb").write_bytes(b"precious")
    (victim / "keep.duckdb").write_bytes(b"precious")
    paths = killed_run(home, "planted", pid=dead_pid())
    document = status_of(paths)
    document["run_id"] = "../../../victim"
    document["steps"] = []
    paths.manifest.write_text(json.dumps(document))
    report = sweep_abandoned(RunPaths(home=home, run_id="next"))
    assert report.swept == []
    assert report.warnings == [
        "skipped logs/pipeline_planted.json is not a valid manifest (run_id: "
        "'../../../victim' does not match '^[A-Za-z0-9_-]{1,64}$')"]
    assert sorted(p.name for p in victim.iterdir()) == ["carton_caps.duckdb", "keep.duckdb"]


def test_a_manifest_holding_another_run_id_than_its_name_is_skipped(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    other = killed_run(tmp_path, "other", pid=dead_pid())
    other.building_snapshot.write_bytes(b"someone else's build")
    impostor = RunPaths(home=tmp_path, run_id="impostor")
    impostor.manifest.write_text(other.manifest.read_text())
    report = sweep_abandoned(sweeper)
    assert report.warnings == ["skipped logs/pipeline_impostor.json holds run id 'other', "
                               "not the one its name gives"]
    assert report.swept == ["other"]


def test_manifests_that_are_links_or_fifos_are_refused_without_blocking(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    paths = RunPaths(home=tmp_path, run_id="x")
    paths.ensure()
    outside = tmp_path.parent / f"{tmp_path.name}_outside.json"
    outside.write_text(json.dumps({"run_id": "linked", "status": "running"}))
    (paths.logs_dir / "pipeline_linked.json").symlink_to(outside)
    os.mkfifo(paths.logs_dir / "pipeline_fifo.json")
    report = sweep_abandoned(sweeper)  # a FIFO opened for reading would wait for ever
    assert report.warnings == [
        "skipped logs/pipeline_fifo.json is a FIFO: refused",
        "skipped logs/pipeline_linked.json is a symbolic link: refused"]


def test_a_killed_run_is_settled_although_its_pid_now_belongs_to_a_live_process(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    """After a reboot (or much later) the pid a killed run recorded can be reused."""
    reused = killed_run(tmp_path, "reused", pid=os.getpid())  # alive: this very process
    document = status_of(reused)
    document["process_start"] -= 1  # ... but it started at another moment
    manifest_io.save(reused.manifest, document)
    reused.building_snapshot.write_bytes(b"half")
    rebooted = killed_run(tmp_path, "rebooted", pid=os.getpid())
    document = status_of(rebooted)
    document["boot_id"] = "00000000-0000-0000-0000-000000000000"  # before the last boot
    manifest_io.save(rebooted.manifest, document)
    assert sorted(sweep_abandoned(sweeper).swept) == ["rebooted", "reused"]
    assert not reused.building_snapshot.exists()
    assert status_of(reused)["status"] == status_of(rebooted)["status"] == "interrupted"


def test_temporary_files_of_the_killed_process_are_removed_and_others_kept(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    pid = dead_pid()
    killed = killed_run(tmp_path, "killed", pid=pid)
    leftovers = [killed.duckdb_dir / f"LATEST_DB.txt.{pid}.tmp",
                 killed.logs_dir / f"pipeline_killed.json.{pid}.tmp"]
    live = [killed.duckdb_dir / f"LATEST_DB.txt.{os.getpid()}.tmp"]
    for path in leftovers + live:
        path.write_text("partial")
    assert sweep_abandoned(sweeper).swept == ["killed"]
    assert [path.exists() for path in leftovers + live] == [False, False, True]


def test_a_killed_runs_temporary_cache_files_are_removed_in_every_cache_folder(
    tmp_path: Path, sweeper: RunPaths
) -> None:
    """An atomic write of a cache (dbt's parse, the unit tests', the contracts', the column
    lineage's), of the PII key or of the run's dbt results cut short by the kill leaves its
    temporary file beside the file it was to replace."""
    pid = dead_pid()
    killed = killed_run(tmp_path, "killed", pid=pid)
    leftovers = [killed.openlineage_dir / f".column_lineage.json.{pid}.tmp",
                 killed.contract_cache_dir / f".0123abcd.json.{pid}.tmp",
                 killed.dbt_logs_dir / ".parse_cache" / f".ab12.msgpack.{pid}.tmp",
                 killed.dbt_logs_dir / ".unit_test_cache" / f"ab12.json.{pid}.tmp",
                 killed.home / ".secrets" / f"pii_hmac.key.{pid}.tmp",
                 killed.dbt_dir / "target" / f"run_results.json.{pid}.tmp",
                 killed.logs_dir / f"report_killed.html.{pid}.tmp"]
    kept = [killed.openlineage_dir / f".column_lineage.json.{os.getpid()}.tmp",
            killed.openlineage_dir / "killed.ndjson"]
    for path in leftovers + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("partial")
    assert sweep_abandoned(sweeper).swept == ["killed"]
    assert [path.exists() for path in leftovers] == [False] * len(leftovers)
    assert all(path.exists() for path in kept)


def test_every_folder_a_real_run_keeps_a_cache_in_is_one_the_sweep_looks_into(
        tiny_run: TinyRun) -> None:
    """The caches name their folders from the run's dbt folder; the sweep from the home's
    layout: a real run's hidden folders under ``logs/`` and ``logs/dbt/`` must be the same."""
    paths = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id)
    cache_dirs = {folder for parent in (paths.logs_dir, paths.dbt_logs_dir)
                  for folder in parent.iterdir() if folder.is_dir() and folder.name[0] == "."}
    assert {path.name for path in cache_dirs} == {".contract_cache", ".parse_cache",
                                                  ".unit_test_cache"}
    assert (paths.dbt_target / "run_results.json").is_file()  # where dbt wrote the run's results
    assert (paths.secrets_dir / "pii_hmac.key").is_file()  # where the run made its key
    assert cache_dirs | {paths.openlineage_dir, paths.dbt_target} <= set(paths.atomic_write_dirs)


@pytest.mark.parametrize("linked", ["logs/openlineage", "logs/dbt"])
def test_the_sweep_deletes_nothing_through_a_linked_folder(
    tmp_path: Path, sweeper: RunPaths, linked: str
) -> None:
    """A cache folder (or its parent) linked out of the home: whatever is there is not the
    killed run's, however it is named."""
    pid = dead_pid()
    killed = killed_run(tmp_path, "killed", pid=pid)
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    (elsewhere / ".parse_cache").mkdir(parents=True)
    outside = [elsewhere / f".column_lineage.json.{pid}.tmp",
               elsewhere / ".parse_cache" / f".ab12.msgpack.{pid}.tmp"]
    for path in outside:
        path.write_text("not the run's")
    link = killed.home / linked
    if link.exists():
        link.rename(link.with_name(link.name + "-moved"))
    link.symlink_to(elsewhere, target_is_directory=True)
    assert sweep_abandoned(sweeper).swept == ["killed"]
    assert [path.read_text() for path in outside] == ["not the run's"] * 2
