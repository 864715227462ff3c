"""The archive step after publication: its upload, what a cut or a kill leaves, and what
a run that publishes here but cannot archive records and returns.

The runner runs a stand-in ``publish`` (the real one needs a built snapshot) and the real
``archive`` step against the local S3 server, so these take seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
import requests

from foundation.paths import RunPaths
from pipeline import runs
from pipeline.checks.health import RunHealth
from pipeline.lifecycle.runner import (
    EXIT_AFTER_PUBLISH,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PipelineRun,
)
from pipeline.lifecycle.step_types import RunConfig, RunPlan, RunState, StepResult
from pipeline.lifecycle.sweep import sweep_abandoned
from pipeline.records import integrity
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import publish_lock, read_pointer, write_pointer
from pipeline.records.run_manifest import RunManifest, StepRecord
from pipeline.steps import archive as archive_step
from pipeline.steps import health
from pipeline.storage.archive import Archive
from tests.storage.conftest import PART_BYTES, SECRET_ACCESS_KEY, publish_fake_run
from tests.storage.test_failures import closed_port, enforced_auth  # noqa: F401 - fixtures

SNAPSHOT = os.urandom(2 * PART_BYTES + 123)  # three parts


def config(home: Path, run_id: str, archive: str) -> RunConfig:
    return RunConfig(home=home, run_id=run_id, seed=7, users=300, as_of=date(2026, 11, 1),
                     days=30, archive=archive)


def stand_in_publish(state: RunState) -> StepResult:
    """What ``publish`` leaves: the snapshot in place, fingerprinted, the pointer moved."""
    paths, manifest = state.paths, state.manifest
    paths.snapshot.write_bytes(SNAPSHOT)
    manifest.snapshot = dataclasses.replace(integrity.fingerprint(paths.snapshot),
                                            path=str(paths.snapshot))
    with publish_lock(paths):
        write_pointer(paths, paths.snapshot.name)
    manifest.pointer_updated = True
    manifest.published_at = manifest_io.iso(manifest_io.utc_now())
    return StepResult()


def run(home: Path, run_id: str, archive: str, *steps: tuple[str, Any]) -> tuple[int, RunState]:
    plan = RunPlan(steps or (("publish", stand_in_publish),
                             ("archive", archive_step.step_archive)),
                   conclude=health.conclude)
    pipeline_run = PipelineRun(config(home, run_id, archive), plan)
    state = pipeline_run.claim(time.monotonic())
    return pipeline_run.execute(state), state


@pytest.fixture
def previous(archive: Archive, tmp_path: Path) -> str:
    """The run the archive's LATEST names before each test's run."""
    earlier = publish_fake_run(tmp_path / "other_home", "r1", as_of="2026-10-01",
                               started_at="2026-11-01T00:00:00.000+00:00")
    archive.upload_run(earlier.paths)
    assert archive.latest() == "r1"
    return "r1"


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[int], None]]:
    """The step uploads in 5 MiB parts; a test may append a hook called with each part's
    number before it is sent (to cut the upload there)."""
    hooks: list[Callable[[int], None]] = []
    connect = Archive.connect

    def connect_small(uri: str) -> Archive:
        archive = connect(uri, multipart_threshold=PART_BYTES, part_bytes=PART_BYTES)
        send = archive.store.client.upload_part

        def upload_part(**kwargs: Any) -> Any:
            for hook in hooks:
                hook(kwargs["PartNumber"])
            return send(**kwargs)

        archive.store.client.upload_part = upload_part
        return archive

    monkeypatch.setattr(archive_step.Archive, "connect", staticmethod(connect_small))
    return hooks


def snapshot_key(run_id: str) -> str:
    return f"carton_caps/runs/{run_id}/duckdb/carton_caps_{run_id}.duckdb"


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


@pytest.mark.pipeline_run
def test_a_published_run_is_archived_with_its_final_manifest(
        archive: Archive, previous: str, small_parts: list, tmp_path: Path, s3: Any,
        bucket: str) -> None:
    code, state = run(tmp_path / "home", "r2", str(archive))

    local = manifest_io.read(state.paths.manifest, state.paths.home)
    archived = json.loads(s3.get_object(Bucket=bucket, Key="carton_caps/runs/r2/logs/"
                                        "pipeline_r2.json")["Body"].read())
    assert code == EXIT_OK and local["status"] == "success"
    assert local["archive"] == {
        "uri": str(archive), "run_uri": f"{archive}/runs/r2/", "status": "archived",
        "error": None, "files": 2, "uploaded": 2, "bytes": local["archive"]["bytes"],
        "latest_run_id": "r2", "latest_updated": True, "previous_latest": previous}
    assert archive.latest() == "r2"
    # the archive keeps the run's final manifest: success, the archive step done, the same end
    assert archived["status"] == "success"
    assert [(s["name"], s["status"]) for s in archived["steps"]] == [
        ("publish", "ok"), ("archive", "ok")]
    assert (archived["finished_at"], archived["duration_s"]) == (
        local["finished_at"], local["duration_s"])
    assert archived["archive"]["status"] == "archived"
    assert archived["snapshot"] == local["snapshot"]


@pytest.mark.pipeline_run
def test_an_upload_cut_half_way_leaves_latest_on_the_previous_run(
        archive: Archive, previous: str, small_parts: list, tmp_path: Path, s3: Any,
        bucket: str, aws_env: str) -> None:
    def network_down(part: int) -> None:
        if part == 2:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=aws_env)

    small_parts.append(network_down)

    code, state = run(tmp_path / "home", "r2", str(archive))

    manifest = state.manifest
    step = manifest.step("archive")
    assert code == EXIT_AFTER_PUBLISH == 3
    assert manifest.status == "success" and manifest.failed_step is None
    assert read_pointer(state.paths) == "r2"  # published and served here
    assert step is not None and step.status == "failed"
    assert step.error == (
        f"archive upload failed: cannot reach the object store {aws_env} (connection "
        f"failed) while uploading s3://{bucket}/{snapshot_key('r2')}: check "
        "AWS_ENDPOINT_URL and that the store is running; the partial upload was aborted "
        "and nothing was left under its key")
    assert manifest.archive is not None and manifest.archive.status == "failed"
    assert manifest.archive.error == step.error.removeprefix("archive upload failed: ")
    assert [(w.step, w.message) for w in manifest.warnings] == [("archive", step.error)]
    finding = RunHealth.from_json(manifest.health).findings[0]  # type: ignore[union-attr]
    assert (finding.severity, finding.category) == ("error", "not archived")
    # LATEST and the archive as they were: no object, no record, no parts for the cut run
    assert archive.latest() == previous
    assert keys(s3, bucket, "carton_caps/runs/r2/") == [
        "carton_caps/runs/r2/logs/pipeline_r2.json"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert [r.run_id for r in archive.runs().runs] == [previous]

    small_parts.clear()
    assert runs.main(["--home", str(state.paths.home), "--archive", str(archive),
                      "push", "r2"]) == EXIT_OK
    assert archive.latest() == "r2"


@pytest.mark.pipeline_run
def test_a_signal_during_the_upload_stops_it_and_leaves_latest(
        archive: Archive, previous: str, small_parts: list, tmp_path: Path, s3: Any,
        bucket: str) -> None:
    small_parts.append(lambda part: os.kill(os.getpid(), signal.SIGTERM) if part == 2 else None)

    code, state = run(tmp_path / "home", "r2", str(archive))

    step = state.manifest.step("archive")
    assert code == EXIT_INTERRUPTED
    assert state.manifest.status == "success"
    assert step is not None and step.status == "interrupted"
    assert state.manifest.archive is not None
    assert state.manifest.archive.status == "interrupted"
    assert state.manifest.warnings[-1].message == (
        "archive interrupted after publish (received signal SIGTERM)")
    assert archive.latest() == previous
    assert snapshot_key("r2") not in keys(s3, bucket, "carton_caps/runs/r2/")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_run_killed_during_its_upload_is_settled_published_and_not_archived(
        archive: Archive, tmp_path: Path) -> None:
    home = tmp_path / "home"
    killed = RunPaths(home=home, run_id="r2")
    killed.ensure()
    killed.snapshot.write_bytes(b"published snapshot")
    manifest = RunManifest.from_json(
        {"run_id": "r2", "status": "running", "started_at": "2026-12-01T00:00:00.000+00:00",
         "params": {"seed": 7, "users": 300, "as_of": "2026-11-01", "days": 30,
                    "archive": str(archive)},
         "pid": 2**22 + 1, "host": os.uname().nodename, "pointer_updated": True,
         "published_at": "2026-12-01T00:01:00.000+00:00",
         "snapshot": {"path": str(killed.snapshot), "size_bytes": 18}})
    manifest.steps = [StepRecord("publish", "ok", "2026-12-01T00:00:59.000+00:00", 1.0),
                      StepRecord("archive", "running", "2026-12-01T00:01:00.000+00:00")]
    manifest_io.save(killed.manifest, manifest)
    with publish_lock(killed):
        write_pointer(killed, killed.snapshot.name)

    report = sweep_abandoned(RunPaths(home=home, run_id="sweeper"))

    settled = manifest_io.read(killed.manifest, home)
    assert report.swept == ["r2"]
    assert settled["status"] == "success"
    assert [(s["name"], s["status"]) for s in settled["steps"]] == [
        ("publish", "ok"), ("archive", "interrupted")]
    assert settled["archive"]["status"] == "interrupted"
    assert settled["archive"]["error"].startswith(f"process {2**22 + 1} on ")
    assert settled["warnings"][0]["message"].startswith("archive interrupted after publish")


@pytest.mark.pipeline_run
def test_a_failed_run_never_touches_latest(archive: Archive, previous: str, tmp_path: Path,
                                           s3: Any, bucket: str) -> None:
    def failing(_state: RunState) -> StepResult:
        raise ValueError("dbt build failed")

    code, state = run(tmp_path / "home", "r2", str(archive), ("dbt_build", failing),
                      ("publish", stand_in_publish), ("archive", archive_step.step_archive))

    assert code == EXIT_FAILED and state.manifest.status == "failed"
    assert state.manifest.step("archive") is None and state.manifest.archive is None
    assert archive.latest() == previous
    assert keys(s3, bucket, "carton_caps/runs/r2/") == []


@pytest.mark.pipeline_run
def test_the_run_ends_when_the_archive_copy_of_its_manifest_was_cut(
        archive: Archive, tmp_path: Path) -> None:
    """The local and archived manifests agree on when the run finished, so every reader
    (Home's duration, Pipeline Ops) shows the same run wherever it reads it."""
    code, state = run(tmp_path / "home", "r2", str(archive))
    finished = datetime.fromisoformat(str(state.manifest.finished_at))
    step = state.manifest.step("archive")
    assert code == EXIT_OK and step is not None and step.started_at is not None
    assert datetime.fromisoformat(step.started_at) <= finished <= datetime.now(UTC)


def assert_published_but_not_archived(code: int, state: RunState, message: str) -> None:
    """A run whose archive step failed: exit 3, published and served here, the step's one
    line as its error, in the manifest's archive section and as a health finding."""
    manifest = state.manifest
    step = manifest.step("archive")
    assert code == EXIT_AFTER_PUBLISH
    assert manifest.status == "success" and read_pointer(state.paths) == "r2"
    assert step is not None and step.status == "failed"
    assert step.error == f"archive upload failed: {message}"
    assert len(step.error.splitlines()) == 1
    assert manifest.archive is not None and manifest.archive.status == "failed"
    assert manifest.archive.error == message
    finding = RunHealth.from_json(manifest.health).findings[0]  # type: ignore[union-attr]
    assert (finding.severity, finding.category) == ("error", "not archived")


@pytest.mark.pipeline_run
def test_refused_credentials_at_the_archive_step_leave_latest(
        archive: Archive, previous: str, tmp_path: Path, s3: Any, bucket: str,
        aws_env: str, enforced_auth: tuple[str, str]) -> None:  # noqa: F811
    code, state = run(tmp_path / "home", "r2", str(archive))

    assert_published_but_not_archived(code, state, (
        f"the object store {aws_env} refused the credentials (InvalidAccessKeyId) while "
        f"opening bucket s3://{bucket}: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or AWS_PROFILE"))
    assert SECRET_ACCESS_KEY not in json.dumps(manifest_io.read(state.paths.manifest,
                                                                state.paths.home))
    requests.post(f"{aws_env}/moto-api/reset-auth", data=b"inf", timeout=5)  # read it back
    assert archive.latest() == previous
    assert keys(s3, bucket, "carton_caps/runs/r2/") == []


@pytest.mark.pipeline_run
def test_an_unreachable_store_at_the_archive_step_is_one_line(
        aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        closed_port: int) -> None:  # noqa: F811
    endpoint = f"http://127.0.0.1:{closed_port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

    code, state = run(tmp_path / "home", "r2", "s3://carton-caps/carton_caps")

    assert_published_but_not_archived(code, state, (
        f"cannot reach the object store {endpoint} (connection failed) while opening bucket "
        "s3://carton-caps: check AWS_ENDPOINT_URL and that the store is running"))


@pytest.mark.pipeline_run
def test_a_missing_archive_bucket_is_named_at_the_archive_step(
        aws_env: str, tmp_path: Path) -> None:
    code, state = run(tmp_path / "home", "r2", "s3://no-such-bucket/carton_caps")

    assert_published_but_not_archived(
        code, state, f"bucket no-such-bucket does not exist at {aws_env}")
