"""The run manifest ``logs/pipeline_<run_id>.json``: the run's contract with its readers.

It is written when the run starts (status ``running``), rewritten atomically after every
step, and finalised with ``success``, ``failed`` or ``interrupted``. A run killed with
SIGKILL therefore still leaves a manifest that says how far it got.

Every manifest read back from a home is untrusted input (anyone who can write ``logs/``
can plant one): it is read as a bounded regular file (:mod:`foundation.untrusted_files`),
checked against ``manifest.schema.json`` and named after the run id it holds, or it is
reported by name (:class:`ManifestProblem`) and skipped. A bad file therefore never
stops an unrelated run, and its fields never become paths.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import socket
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema

from foundation import untrusted_files
from foundation.cli_values import quoted
from foundation.paths import REPO_ROOT, HomePaths, snapshot_file_name
from foundation.run_id import RUN_ID_PATTERN, RunIdError, validate_run_id
from pipeline.records import process_identity
from pipeline.records.integrity import is_snapshot_file
from pipeline.records.pointer import write_atomically
from pipeline.records.publication_order import order_of
from pipeline.records.run_manifest import RunManifest, RunParams

SCHEMA_FILE = Path(__file__).with_name("manifest.schema.json")
MANIFEST_NAME = re.compile(r"^pipeline_(?P<run_id>.*)\.json$")


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


def _as_json(manifest: RunManifest | dict[str, Any]) -> str:
    document = manifest.to_json() if isinstance(manifest, RunManifest) else manifest
    return json.dumps(document, indent=2, default=str) + "\n"


def claim(path: Path, manifest: RunManifest) -> None:
    """Create the manifest, failing if the run id is already taken (O_EXCL is atomic)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise RunIdTakenError(str(path)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(_as_json(manifest))


def save(path: Path, manifest: RunManifest | dict[str, Any]) -> None:
    """Replace the manifest atomically (readers see the old or the new file, never half)."""
    write_atomically(path, _as_json(manifest))


def new_manifest(run_id: str, *, home: Path, params: RunParams, started_at: datetime,
                 previous_run_id: str | None) -> RunManifest:
    """A run's manifest as it starts: ``running``, with who runs it and on what."""
    me = process_identity.current()
    return RunManifest(
        run_id=run_id, status="running", started_at=iso(started_at), home=str(home),
        params=params, host=socket.gethostname(), pid=me.pid, boot_id=me.boot_id,
        process_start=me.start_ticks, previous_run_id=previous_run_id,
        versions=tool_versions(), git_commit=git_commit())


class ManifestError(untrusted_files.UntrustedFileError):
    """A manifest that cannot be used: unreadable, refused, or not a valid manifest."""


@dataclass(frozen=True)
class ManifestProblem:
    """A manifest file of the home that was skipped, and why (``file`` is home-relative;
    ``run_id`` is the one its name gives, when that is a valid run id)."""

    file: str
    reason: str
    run_id: str | None = None

    def __str__(self) -> str:
        return f"{self.file} {self.reason}"


@dataclass(frozen=True)
class ManifestScan:
    """Every manifest of a home: the valid ones, oldest first, and the skipped files."""

    documents: list[dict[str, Any]]
    problems: list[ManifestProblem]


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _first_error(document: Any) -> str | None:
    """The first way ``document`` breaks the manifest schema, in a line (None: valid)."""
    error = next(iter(sorted(_validator().iter_errors(document), key=lambda e: e.path)), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the document"
    message = error.message if len(error.message) <= 120 else error.message[:120] + "…"
    return f"{where}: {message}"


def read(path: Path, home: Path) -> dict[str, Any]:
    """The manifest at ``path`` (under ``home``), checked; FileNotFoundError when missing.

    Raises ManifestError when the file is refused (a link, a FIFO, outside the home, too
    large), is not JSON, breaks the schema, or holds another run id than its name.
    """
    shown = untrusted_files.shown_path(path, home)
    run_id = run_id_of(path)
    if run_id is None:
        raise ManifestError(shown, "is not named pipeline_<run id>.json")
    try:
        document = untrusted_files.read_json(path, home=home)
    except untrusted_files.UntrustedFileError as exc:
        raise ManifestError(exc.shown, exc.reason) from None
    problem = _first_error(document)
    if problem is not None:
        raise ManifestError(shown, f"is not a valid manifest ({problem})")
    if document["run_id"] != run_id:
        raise ManifestError(shown, f"holds run id {document['run_id']!r}, not the one its "
                                   "name gives")
    return document


def load(path: Path) -> dict[str, Any] | None:
    """A manifest (``<home>/logs/pipeline_<run_id>.json``), or None if it is missing or
    cannot be used (half-written, refused, invalid: :func:`read` says why)."""
    try:
        return read(path, path.parent.parent)
    except (OSError, ManifestError):
        return None


def run_id_of(path: Path) -> str | None:
    """The run id a manifest's file name gives, if it is a valid one."""
    name = MANIFEST_NAME.fullmatch(path.name)
    if name is None or not RUN_ID_PATTERN.fullmatch(name.group("run_id")):
        return None
    return name.group("run_id")


def scan(paths: HomePaths) -> ManifestScan:
    """Every manifest of a home, oldest first (run ids sort by start time), and the files
    skipped as unusable, each with its reason."""
    documents, problems = [], []
    for path in paths.manifest_paths():
        try:
            documents.append(read(path, paths.home))
        except FileNotFoundError:
            continue  # removed between the listing and the read
        except ManifestError as exc:
            problems.append(ManifestProblem(exc.shown, exc.reason, run_id_of(path)))
        except OSError as exc:
            problems.append(ManifestProblem(untrusted_files.shown_path(path, paths.home),
                                            f"cannot be read ({exc.strerror or exc})",
                                            run_id_of(path)))
    documents.sort(key=lambda doc: (doc.get("started_at") or "", doc["run_id"]))
    return ManifestScan(documents, problems)


def load_all(paths: HomePaths) -> list[dict[str, Any]]:
    """Every valid manifest of a home, oldest first (:func:`scan` also names the rest)."""
    return scan(paths).documents


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
    """The published run readers fall back on when the pointer is unusable: by the
    pointer's own rule (:mod:`pipeline.records.publication_order`), the successful run
    with the newest as-of date whose snapshot still exists (a regular file)."""
    published = [doc for doc in load_all(paths)
                 if doc.get("status") == "success" and is_published(paths, doc)]
    return max(published, key=lambda doc: order_of(doc) or ("", "", ""), default=None)


def is_running(document: dict[str, Any]) -> bool:
    """Whether the run a manifest describes may still be running.

    False for a finished run, and for a ``running`` manifest whose process is gone on this
    host (killed with SIGKILL or by a power loss: abandoned, until the next pipeline run
    sweeps it to ``interrupted``): the pid is dead, belongs to a process started at
    another time (the pid was reused), or was recorded before the host last booted. A run
    recorded on another host, or without a usable pid, cannot be checked from here and
    counts as running.
    """
    if document.get("status") != "running":
        return False
    if document.get("host") not in (socket.gethostname(), os.uname().nodename):
        return True
    pid = document.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return True
    recorded = process_identity.ProcessIdentity(
        pid=pid, boot_id=document.get("boot_id"), start_ticks=document.get("process_start"))
    return process_identity.is_alive(recorded)


# --------------------------------------------------------------------------- lookup


class UnknownRunError(LookupError):
    """The run id has no manifest in this home."""


class DamagedManifestError(LookupError):
    """The run's manifest exists but cannot be used; the message names the file and why."""


def _checked_run_id(run_id: str) -> str:
    """A run id from the command line, checked with the rule run ids are made by."""
    try:
        return validate_run_id(run_id)
    except RunIdError:
        raise UnknownRunError(f"{quoted(run_id)} is not a run id (1-64 characters from A-Z, "
                              "a-z, 0-9, '_' and '-')") from None


def find_run(paths: HomePaths, run_id: str) -> dict[str, Any]:
    """The manifest of run ``run_id`` (a name from a user: checked with the run-id rule);
    UnknownRunError when there is none, DamagedManifestError when it cannot be used."""
    run_id = _checked_run_id(run_id)
    found = scan(paths)
    for document in found.documents:
        if document["run_id"] == run_id:
            return document
    damaged = next((p for p in found.problems if p.run_id == run_id), None)
    if damaged is not None:
        raise DamagedManifestError(f"the manifest of run {run_id} cannot be used: {damaged}")
    known = ", ".join(doc["run_id"] for doc in found.documents[-5:]) or "none"
    raise UnknownRunError(f"unknown run {run_id!r} in {paths.logs_dir} "
                          f"(latest runs: {known})")
