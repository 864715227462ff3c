"""Settle runs that were killed without a chance to clean up (SIGKILL, power loss).

Their manifests still say ``running``; a run whose process is gone from this host
(:func:`pipeline.manifest.is_running`) can never finish, so the next run on the host
finishes its records for it. If it died after moving the pointer, its snapshot is being
served and it is recorded as the success it was; otherwise it is ``interrupted`` and its
leftovers are removed: the ``.building`` file, dbt's link to it, a never-published
snapshot (if it died between the rename and the pointer move; no reader was ever pointed
at it) and its temporary files (``<file>.<pid>.tmp``). Either way the record reads like a
finished run's: when it ended (as near as the files tell), how long it took, and every
step closed.

Every manifest is untrusted here: only manifests that pass :func:`pipeline.manifest.scan`
are settled, the files removed are derived from the validated run id and pid only, and a
manifest that cannot be read or settled is reported by name in the sweeping run's
warnings, never fatal to it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation import untrusted_files
from foundation.paths import RunPaths
from pipeline import dbt_runner, integrity
from pipeline import manifest as manifest_io
from pipeline.pointer import PointerError, read_pointer

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """Runs settled by one sweep, and what it could not settle or read."""

    swept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def remove_building_files(paths: RunPaths) -> None:
    """Delete a half-built database (its WAL, dbt's link to it) so nothing unfinished lingers."""
    for candidate in (paths.building_snapshot,
                      paths.building_snapshot.with_name(paths.building_snapshot.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
    dbt_runner.remove_db_link(paths.dbt_dir)


def _remove_temporary_files(paths: RunPaths, pid: int, live_pids: set[int]) -> None:
    """``<file>.<pid>.tmp`` left in ``duckdb/`` and ``logs/`` by an atomic write the kill
    cut short (the pointer's, a manifest's); kept if a live run now has that pid."""
    if pid in live_pids:
        return
    for folder in (paths.duckdb_dir, paths.logs_dir):
        for leftover in folder.glob(f"*.{pid}.tmp"):
            if untrusted_files.is_regular_file(leftover):
                leftover.unlink(missing_ok=True)


def _moment(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text).astimezone(UTC) if isinstance(text, str) else None
    except ValueError:
        return None


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, UTC)
    except OSError:
        return None


def _close_steps(document: dict[str, Any], ended: datetime, status: str,
                 error: str | None) -> list[dict[str, Any]]:
    """Give every step still ``running`` its final status and the time it ran until."""
    running = [step for step in document.get("steps") or [] if step.get("status") == "running"]
    for step in running:
        started = _moment(step.get("started_at"))
        step["status"] = status
        step["error"] = error
        step["duration_s"] = (round(max((ended - started).total_seconds(), 0.0), 3)
                              if started else None)
    return running


def _finish(document: dict[str, Any], ended: datetime) -> None:
    started = _moment(document.get("started_at"))
    document["finished_at"] = manifest_io.iso(ended)
    document["duration_s"] = (round(max((ended - started).total_seconds(), 0.0), 3)
                              if started else None)


def _settle_published(other: RunPaths, document: dict[str, Any], *, settled_by: str) -> None:
    """It died after moving the pointer: a success, with the records publication makes."""
    ended = (_moment(document.get("published_at")) or _mtime(other.pointer)
             or manifest_io.utc_now())
    document["status"] = "success"
    document["pointer_updated"] = True
    snapshot = document.get("snapshot") or {}
    if not isinstance(snapshot.get("sha256"), str):
        # it died before recording its fingerprint: take it now, so it stays verifiable
        document["snapshot"] = {"path": str(other.snapshot),
                                **integrity.fingerprint(other.snapshot)}
    _close_steps(document, ended, "ok", None)
    _finish(document, ended)
    document.setdefault("warnings", []).append({
        "step": "publish",
        "message": f"the run's process died after it published; run {settled_by} "
                   "finished its records"})


def _settle_as_killed(other: RunPaths, document: dict[str, Any], *, settled_by: str) -> None:
    """Record a killed run as a finished ``interrupted`` one: when it last wrote its
    manifest (as near to its death as can be known), the step it died in, who found it."""
    cause = (f"process {document.get('pid')} on {document.get('host')} was found dead by "
             f"run {settled_by}; the run was killed without a chance to clean up")
    ended = _mtime(other.manifest) or manifest_io.utc_now()
    running = _close_steps(document, ended, "interrupted", cause)
    document["status"] = "interrupted"
    _finish(document, ended)
    document["failed_step"] = document.get("failed_step") or (
        running[-1]["name"] if running else None)
    document["error"] = document.get("error") or cause


def _settle(paths: RunPaths, document: dict[str, Any], served: str | None,
            live_pids: set[int]) -> None:
    other = paths.run(document["run_id"])
    remove_building_files(other)
    if isinstance(document.get("pid"), int):
        _remove_temporary_files(other, document["pid"], live_pids)
    if served == document["run_id"]:
        _settle_published(other, document, settled_by=paths.run_id)
    else:
        if untrusted_files.is_regular_file(other.snapshot):
            other.snapshot.unlink(missing_ok=True)
        _settle_as_killed(other, document, settled_by=paths.run_id)
    manifest_io.save(other.manifest, document)


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
            _settle(paths, document, served, live_pids)
        except Exception as exc:  # a read-only folder, a vanished file: report, go on
            report.warnings.append(f"could not settle killed run {document['run_id']}: "
                                   f"{type(exc).__name__}: {exc}")
            logger.debug("settling %s failed", document["run_id"], exc_info=True)
            continue
        report.swept.append(document["run_id"])
    return report
