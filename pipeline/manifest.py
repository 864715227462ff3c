"""The run manifest ``logs/pipeline_<run_id>.json``: the run's contract with its readers.

It is written when the run starts (status ``running``), rewritten atomically after every
step, and finalised with ``success``, ``failed`` or ``interrupted``. A run killed with
SIGKILL therefore still leaves a manifest that says how far it got.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from foundation.paths import REPO_ROOT, HomePaths, snapshot_file_name
from pipeline.integrity import is_snapshot_file
from pipeline.pointer import write_atomically

MANIFEST_VERSION = 1


class RunIdTakenError(ValueError):
    """Another run already claimed this run id."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="milliseconds")


def tool_versions() -> dict[str, str | None]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "dbt": version("dbt-core"),
        "dbt_duckdb": version("dbt-duckdb"),
    }


def git_commit() -> str | None:
    """HEAD of the checkout the code runs from, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def claim(path: Path, document: dict[str, Any]) -> None:
    """Create the manifest, failing if the run id is already taken (O_EXCL is atomic)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise RunIdTakenError(str(path)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, default=str)
        handle.write("\n")


def save(path: Path, document: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(document, indent=2, default=str) + "\n")


def new_document(run_id: str, *, home: Path, params: dict[str, Any],
                 started_at: datetime, previous_run_id: str | None) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "status": "running",
        "started_at": iso(started_at),
        "finished_at": None,
        "duration_s": None,
        "params": params,
        "home": str(home),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "failed_step": None,
        "error": None,
        "steps": [],
        "warnings": [],
        "row_counts": {"raw": {}, "marts": {}},
        "ingestion": {},
        "dbt": {"pass": 0, "warn": 0, "error": 0, "skip": 0, "total": 0, "failures": []},
        "freshness": {},
        "contracts": {},
        "schema_drift": {},
        "anomalies": {},
        "snapshot": {"path": None, "size_bytes": None},
        "pointer_updated": False,
        "previous_run_id": previous_run_id,
        "versions": tool_versions(),
        "git_commit": git_commit(),
        "artifacts": {},
    }


def load(path: Path) -> dict[str, Any] | None:
    """A manifest as a dict, or None if it is missing or unreadable (e.g. half-written)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_all(paths: HomePaths) -> list[dict[str, Any]]:
    """Every readable manifest of a home, oldest first (run ids sort by start time)."""
    documents = (load(path) for path in paths.manifest_paths())
    return sorted((doc for doc in documents if doc and "run_id" in doc),
                  key=lambda doc: (doc.get("started_at") or "", doc["run_id"]))


def is_published(paths: HomePaths, document: dict[str, Any]) -> bool:
    """Whether a run's snapshot is on disk, a regular file in ``duckdb/``."""
    return is_snapshot_file(paths.duckdb_dir, snapshot_file_name(document["run_id"]))


def successful_before(paths: HomePaths, run_id: str, started_at: str | None = None, *,
                      published_only: bool = False) -> list[dict[str, Any]]:
    """Manifests of the successful runs that started before ``run_id``, newest first.

    ``started_at`` is the run's start as manifests record it (ISO, UTC); when omitted it is
    read from the run's own manifest, and when that is missing too every other successful
    run counts. ``published_only`` keeps only runs whose snapshot is still on disk.
    """
    documents = load_all(paths)
    if started_at is None:
        own = next((doc for doc in documents if doc["run_id"] == run_id), None)
        started_at = own.get("started_at") if own else None
    found = [doc for doc in documents
             if doc.get("status") == "success" and doc["run_id"] != run_id
             and (started_at is None or (doc.get("started_at") or "") < started_at)
             and (not published_only or is_published(paths, doc))]
    return list(reversed(found))


def previous_successful(paths: HomePaths, run_id: str, started_at: str | None = None, *,
                        published_only: bool = False) -> dict[str, Any] | None:
    """The previous successful run: the newest one that started before ``run_id``.

    The project's one definition, used by the schema drift step, the volume baseline and
    the dashboards' run history (those with ``published_only``: they can show only runs
    whose snapshot is on disk). None when there is none.
    """
    found = successful_before(paths, run_id, started_at, published_only=published_only)
    return found[0] if found else None


def latest_successful(paths: HomePaths) -> dict[str, Any] | None:
    """Newest manifest whose run published a snapshot that still exists (a regular file)."""
    for document in reversed(load_all(paths)):
        if document.get("status") != "success":
            continue
        snapshot = document.get("snapshot", {}).get("path")
        if snapshot and is_snapshot_file(paths.duckdb_dir, Path(snapshot).name):
            return document
    return None


def is_running(document: dict[str, Any]) -> bool:
    """Whether the run a manifest describes may still be running.

    False for a finished run, and for a ``running`` manifest whose process is gone on this
    host (killed with SIGKILL or by a power loss: abandoned, until the next pipeline run
    sweeps it to ``interrupted``). A run recorded on another host, or without a usable pid,
    cannot be checked from here and counts as running.
    """
    if document.get("status") != "running":
        return False
    pid = document.get("pid")
    if document.get("host") not in (socket.gethostname(), os.uname().nodename):
        return True
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive under another user
        return True
    return True
