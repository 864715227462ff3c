"""The step after publication: upload the published run to the archive, then move its
``LATEST`` (``--archive s3://bucket/prefix``).

It runs once the snapshot is published here, because what it uploads must be final: the
snapshot renamed into place and hashed, the schema snapshot, dbt's artefacts, the log,
and the run's manifest as it will read when the run ends (status ``success``, this step
``ok``, the ``archive`` section naming where it went). The files go up one by one, each
with its sha256 (the snapshot in parts, checked against the sha256 publication recorded),
then the run's record, and only then ``LATEST`` moves, by the pointer's own rule
(:mod:`pipeline.records.publication_order`): an upload cut anywhere leaves the archive's
``LATEST`` on the previous run and no record for this one (:mod:`pipeline.storage.archive`).

If it fails, the run is still published here and served by this home: the runner records
the step ``failed`` with its one-line error, the manifest's ``archive`` says ``failed``
with the same error, the run's health gets an error finding, and the exit code is 3
(:data:`pipeline.lifecycle.runner.EXIT_AFTER_PUBLISH`): loud for an orchestrator,
without calling a published run failed. ``runs.py --archive URI push RUN_ID`` archives
it again later (it resumes: files already there intact are not sent again).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from pipeline.lifecycle.errors import StepError, with_manifest
from pipeline.lifecycle.interrupts import RunInterrupted
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records import manifest as manifest_io
from pipeline.records.run_manifest import ArchiveRecord, ManifestUpdate, RunManifest
from pipeline.steps.storage_failures import one_line
from pipeline.storage.archive import Archive, ArchiveResult
from pipeline.storage.errors import StorageError

logger = logging.getLogger(__name__)

STEP_NAME = "archive"


def final_manifest(state: RunState, record: ArchiveRecord) -> RunManifest:
    """The run's manifest as it will read once this step has completed: what the archive
    keeps. The local one ends the same (``finished_at``, ``duration_s``: the run finished
    when this copy was cut) and adds the upload's counts and where ``LATEST`` stands."""
    final = RunManifest.from_json(state.manifest.to_json())
    now = manifest_io.utc_now()
    final.status = "success"
    final.finished_at = manifest_io.iso(now)
    started = final.started_at
    if started:
        final.duration_s = round((now - datetime.fromisoformat(started)).total_seconds(), 3)
    step = final.step(STEP_NAME)
    if step is not None:
        step.status = "ok"
        step.duration_s = 0.0
    final.archive = record
    return final


def _record(archive: Archive, run_id: str, result: ArchiveResult) -> ArchiveRecord:
    return ArchiveRecord(uri=archive.location.uri(), run_uri=result.uri, status="archived",
                         files=len(result.files), uploaded=len(result.uploaded),
                         bytes=sum(f.size for f in result.files),
                         latest_run_id=result.latest_run_id,
                         latest_updated=result.latest_updated,
                         previous_latest=result.previous_latest)


def step_archive(state: RunState) -> StepResult:
    """Archive the published run and move the archive's ``LATEST`` by the as-of rule."""
    uri = state.config.archive
    if uri is None:
        raise StepError("no --archive location was given")
    with one_line("archive upload failed: "):
        archive = Archive.connect(uri)
    run_id = state.config.run_id
    pending = ArchiveRecord(uri=archive.location.uri(), run_uri=archive.run_uri(run_id),
                            status="archiving")
    archived = final_manifest(state, dataclasses.replace(pending, status="archived"))
    try:
        result = archive.upload_run(state.paths, manifest_document=archived.to_json())
    except StorageError as exc:
        failed = dataclasses.replace(pending, status="failed",
                                     error=str(exc))
        raise StepError(f"archive upload failed: {exc}",
                        manifest=ManifestUpdate(archive=failed)) from None
    except (KeyboardInterrupt, RunInterrupted) as exc:
        cut = dataclasses.replace(pending, status="interrupted",
                                  error=str(exc) or "interrupted by Ctrl-C")
        raise with_manifest(exc, ManifestUpdate(archive=cut))  # noqa: B904 - the same one
    record = _record(archive, run_id, result)
    ended = (archived.finished_at, archived.duration_s)
    moved = (f"LATEST now names {record.latest_run_id}" if record.latest_updated
             else f"LATEST stays on {record.latest_run_id} (of a later as-of date)")
    logger.info("  archived to %s (%d files, %d sent); %s", record.run_uri, record.files,
                record.uploaded, moved)
    return StepResult({"run_uri": record.run_uri, "files": record.files,
                       "uploaded": record.uploaded, "bytes": record.bytes,
                       "latest_run_id": record.latest_run_id,
                       "latest_updated": record.latest_updated},
                      manifest=ManifestUpdate(archive=record, finished_at=ended[0],
                                              duration_s=ended[1]))
