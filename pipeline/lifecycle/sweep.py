"""Settle runs that were killed without a chance to clean up (SIGKILL, power loss).

Their manifests still say ``running``; a run whose process is gone from this host
(:func:`pipeline.records.manifest.is_running`) can never finish, so the next run on the host
finishes its records for it. If it died after moving the pointer, its snapshot is being
served and it is recorded as the success it was; otherwise it is ``interrupted`` and its
leftovers are removed: the ``.building`` file, dbt's link to it, a never-published
snapshot (if it died between the rename and the pointer move; no reader was ever pointed
at it), its temporary files (``<file>.<pid>.tmp``) and its temporary folder
(``data/.tmp_<run_id>/``). A run killed during its archive upload is published: it is
settled ``success`` with the upload recorded ``interrupted`` (the archive's ``LATEST``
never moved: :mod:`pipeline.storage.archive`). Either way the record reads like a
finished run's: when it ended (as near as the files tell), how long it took, and every
step closed.

Every manifest is untrusted here: only manifests that pass :func:`pipeline.records.manifest.scan`
are settled, the files removed are derived from the validated run id and pid only, and a
manifest that cannot be read or settled is reported by name in the sweeping run's
warnings, never fatal to it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from foundation import untrusted_files
from foundation.paths import RunPaths
from pipeline.records import integrity
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import PointerError, read_pointer
from pipeline.records.run_manifest import (
    AFTER_PUBLISH_STEPS,
    ArchiveRecord,
    RunManifest,
    StepRecord,
    StepStatus,
)

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """Runs settled by one sweep, and what it could not settle or read."""

    swept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def remove_building_files(paths: RunPaths) -> None:
    """Delete a half-built database, its WAL and dbt's link to it (with the link's WAL),
    so nothing unfinished lingers and no link keeps a deleted file's blocks on disk."""
    link = paths.dbt_db_link
    for candidate in (paths.building_snapshot,
                      paths.building_snapshot.with_name(paths.building_snapshot.name + ".wal"),
                      link, link.with_name(link.name + ".wal"),
                      link.with_name(link.name + ".tmp")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def remove_temp_dir(paths: RunPaths) -> None:
    """The run's temporary folder (sources on their way to object storage, a fetched
    app.sqlite: plaintext PII), when it is a real folder; a link there is only unlinked."""
    temp = paths.temp_dir
    if temp.is_symlink():
        temp.unlink(missing_ok=True)
    elif temp.is_dir():
        shutil.rmtree(temp, ignore_errors=True)


def _remove_temporary_files(paths: RunPaths, pid: int, live_pids: set[int]) -> None:
    """``<file>.<pid>.tmp`` left by an atomic write the kill cut short (the pointer's, a
    manifest's, the report's, a cache's, the PII key's, the run's dbt results:
    :attr:`~foundation.paths.RunPaths.atomic_write_dirs`); kept if a live run now has that
    pid. Only regular files in real folders of the home go: a folder that is a link, or
    that a linked parent takes out of the home, is not looked into (its files are not the
    run's to delete)."""
    if pid in live_pids:
        return
    for folder in paths.atomic_write_dirs:
        if not _home_folder(folder, paths.home):
            continue
        for leftover in folder.glob(f"*.{pid}.tmp"):
            if untrusted_files.is_regular_file(leftover):
                leftover.unlink(missing_ok=True)


def _home_folder(folder: Path, home: Path) -> bool:
    """Whether ``folder`` is a folder itself (not a link to one) that resolves inside ``home``."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        untrusted_files.confined(folder, home)
    except untrusted_files.UntrustedFileError:
        return False
    return True


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text).astimezone(UTC) if text else None
    except ValueError:
        return None


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, UTC)
    except OSError:
        return None


def _seconds(start: str | None, end: datetime) -> float | None:
    started = _moment(start)
    return round(max((end - started).total_seconds(), 0.0), 3) if started else None


def _close_steps(manifest: RunManifest, ended: datetime, status: StepStatus,
                 error: str | None, *, skip: list[StepRecord] | None = None
                 ) -> list[StepRecord]:
    """Give every step still ``running`` (but those in ``skip``) its final status and the
    time it ran until."""
    running = [step for step in manifest.steps
               if step.status == "running" and step not in (skip or [])]
    for step in running:
        step.status, step.error = status, error
        step.duration_s = _seconds(step.started_at, ended)
    return running


def _finish(manifest: RunManifest, ended: datetime) -> None:
    manifest.finished_at = manifest_io.iso(ended)
    manifest.duration_s = _seconds(manifest.started_at, ended)


def _settle_published(other: RunPaths, manifest: RunManifest, *, served: bool,
                      settled_by: str) -> None:
    """It died after publishing (after moving the pointer, or, of an older as-of date,
    after its snapshot was published without moving it): a success, with the records
    publication makes."""
    ended = (_moment(manifest.published_at) or _mtime(other.pointer)
             or manifest_io.utc_now())
    manifest.status = "success"
    manifest.pointer_updated = served
    if manifest.snapshot.sha256 is None:
        # it died before recording its fingerprint: take it now, so it stays verifiable
        manifest.snapshot = dataclasses.replace(integrity.fingerprint(other.snapshot),
                                                path=str(other.snapshot))
    cut = [step for step in manifest.steps
           if step.status == "running" and step.name in AFTER_PUBLISH_STEPS]
    cause = (f"process {manifest.pid} on {manifest.host} died during the step; run "
             f"{settled_by} found it dead")
    _close_steps(manifest, ended, "ok", None, skip=cut)
    for step in cut:  # the archive upload it died in did not complete
        step.status, step.error = "interrupted", cause
        step.duration_s = _seconds(step.started_at, _mtime(other.manifest) or ended)
        manifest.warn(step.name, f"{step.name} interrupted after publish ({cause})")
        uri = manifest.params.archive if manifest.params else None
        if step.name == "archive" and uri is not None:
            manifest.archive = ArchiveRecord(uri=uri, run_uri=f"{uri}/runs/{manifest.run_id}/",
                                             status="interrupted", error=cause)
    _finish(manifest, ended)
    manifest.warn("publish", f"the run's process died after it published; run {settled_by} "
                             "finished its records")


def _settle_as_killed(other: RunPaths, manifest: RunManifest, *, settled_by: str) -> None:
    """Record a killed run as a finished ``interrupted`` one: when it last wrote its
    manifest (as near to its death as can be known), the step it died in, who found it."""
    cause = (f"process {manifest.pid} on {manifest.host} was found dead by "
             f"run {settled_by}; the run was killed without a chance to clean up")
    ended = _mtime(other.manifest) or manifest_io.utc_now()
    running = _close_steps(manifest, ended, "interrupted", cause)
    manifest.status = "interrupted"
    _finish(manifest, ended)
    manifest.failed_step = manifest.failed_step or (running[-1].name if running else None)
    manifest.error = manifest.error or cause


def _settle(paths: RunPaths, manifest: RunManifest, served: str | None,
            live_pids: set[int]) -> None:
    other = paths.run(manifest.run_id)
    remove_building_files(other)
    remove_temp_dir(other)
    if manifest.pid is not None:
        _remove_temporary_files(other, manifest.pid, live_pids)
    if served == manifest.run_id or (manifest.published_at is not None
                                     and untrusted_files.is_regular_file(other.snapshot)):
        # the pointer names it, or it recorded its publication (a run of an older as-of
        # date publishes without moving the pointer): it finished, all but its records
        _settle_published(other, manifest, served=served == manifest.run_id,
                          settled_by=paths.run_id)
    else:
        if untrusted_files.is_regular_file(other.snapshot):
            other.snapshot.unlink(missing_ok=True)
        _settle_as_killed(other, manifest, settled_by=paths.run_id)
    manifest_io.save(other.manifest, manifest)


def sweep_abandoned(paths: RunPaths) -> SweepReport:
    """Settle every abandoned run of the home but ``paths.run_id`` (the sweeping run)."""
    report = SweepReport()
    try:
        served = read_pointer(paths)
    except PointerError:
        served = None
    scan = manifest_io.scan(paths)
    report.warnings.extend(f"skipped {problem}" for problem in scan.problems)
    running = [doc for doc in scan.documents
               if doc.get("status") == "running" and doc["run_id"] != paths.run_id]
    alive = {doc["run_id"]: manifest_io.is_running(doc) for doc in running}
    live_pids = {doc["pid"] for doc in running if alive[doc["run_id"]]
                 and isinstance(doc.get("pid"), int)}
    for document in running:
        if alive[document["run_id"]]:
            continue
        try:
            _settle(paths, RunManifest.from_json(document), served, live_pids)
        except Exception as exc:  # a read-only folder, a vanished file: report, go on
            report.warnings.append(f"could not settle killed run {document['run_id']}: "
                                   f"{type(exc).__name__}: {exc}")
            logger.debug("settling %s failed", document["run_id"], exc_info=True)
            continue
        report.swept.append(document["run_id"])
    return report
