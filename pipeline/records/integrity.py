"""Which snapshot files a reader may open, and whether a run's files are still as published.

A snapshot name is only ever turned into a file inside ``<home>/duckdb/``: a name that is a
symbolic link, or that resolves anywhere else, is refused before DuckDB opens it, so a link
such as ``carton_caps_evil.duckdb -> /etc/passwd`` (or to a database elsewhere) is never
served. A published snapshot never changes, so its sha256, taken once at publish, and the
source files' sha256 the loader recorded let ``runs.py verify`` find a flipped byte that no
query would read; size and modification time are cheap enough for the dashboards to compare
on every rerun.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.paths import HomePaths, snapshot_file_name
from pipeline.records.run_manifest import SnapshotRecord

#: bytes read per hashing step: snapshots reach several GB, so never read them whole
HASH_CHUNK_BYTES = 8 << 20
#: how many hex digits of a sha256 a message shows
SHORT_HASH = 12


#: why an unsafe snapshot name is not opened, after what is wrong with it
REFUSAL = "refused, a snapshot must be a regular file in duckdb/"


class UnsafeSnapshotError(ValueError):
    """A snapshot name that is a symbolic link or resolves outside ``duckdb/``: never opened."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name} {reason}: {REFUSAL}")


def checked_snapshot(duckdb_dir: Path, name: str) -> Path:
    """``duckdb_dir / name`` if a reader may open it (it need not exist yet).

    Raises UnsafeSnapshotError for a symbolic link and for a name that resolves outside
    ``duckdb_dir`` (``..``, a slash, a link among its parents).
    """
    path = duckdb_dir / name
    if path.is_symlink():
        raise UnsafeSnapshotError(name, "is a symbolic link")
    if path.resolve().parent != duckdb_dir.resolve():
        raise UnsafeSnapshotError(name, "resolves outside duckdb/")
    return path


def is_snapshot_file(duckdb_dir: Path, name: str) -> bool:
    """Whether ``name`` is a regular snapshot file inside ``duckdb_dir`` a reader may open."""
    try:
        return checked_snapshot(duckdb_dir, name).is_file()
    except UnsafeSnapshotError:
        return False


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _mtime_text(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")


def fingerprint(path: Path) -> SnapshotRecord:
    """Size, modification time and sha256 of a finished snapshot, for its manifest (the
    caller names where it is published: the file may be renamed into place after)."""
    stat = path.stat()
    return SnapshotRecord(size_bytes=stat.st_size, mtime=_mtime_text(stat.st_mtime_ns),
                          mtime_ns=stat.st_mtime_ns, sha256=sha256_file(path))


def stat_changes(path: Path, recorded: Mapping[str, Any]) -> list[str]:
    """How the file's size and modification time differ from the manifest's record.

    Empty when they match or when the manifest recorded neither (published before
    fingerprints were recorded).
    """
    stat = path.stat()
    changes = []
    size = recorded.get("size_bytes")
    if isinstance(size, int) and stat.st_size != size:
        changes.append(f"size {stat.st_size:,} bytes, published {size:,}")
    mtime_ns = recorded.get("mtime_ns")
    if isinstance(mtime_ns, int) and stat.st_mtime_ns != mtime_ns:
        changes.append(f"modified {_mtime_text(stat.st_mtime_ns)}, published "
                       f"{_mtime_text(mtime_ns)}")
    return changes


def display_path(home: Path, path: str | Path) -> str:
    """``path`` relative to the home when it lies inside it, else as given."""
    try:
        return str(Path(path).relative_to(home)) or "."
    except ValueError:
        return str(path)


def relative_paths(home: Path, value: Any) -> Any:
    """A copy of a manifest (any JSON value) with the home's absolute paths made relative.

    The dashboards show manifests and messages without revealing where the home lives.
    """
    if isinstance(value, str):
        return "." if value == str(home) else value.replace(f"{home}/", "")
    if isinstance(value, dict):
        return {key: relative_paths(home, item) for key, item in value.items()}
    if isinstance(value, list):
        return [relative_paths(home, item) for item in value]
    return value


# --------------------------------------------------------------------------- verification

OK = "ok"
DIFFERS = "differs"
MISSING = "missing"
REFUSED = "refused"
NOT_VERIFIABLE = "not verifiable"
#: results that mean the run's files are not as published
DAMAGED = frozenset({DIFFERS, MISSING, REFUSED})


@dataclass(frozen=True)
class FileCheck:
    """One file of one run checked against its manifest (``file`` is home-relative)."""

    run_id: str
    file: str
    result: str
    detail: str = ""


def _short(digest: str) -> str:
    return digest[:SHORT_HASH] + "…"


def _check_file(run_id: str, path: Path, shown: str, recorded: str) -> FileCheck:
    if not path.is_file():
        return FileCheck(run_id, shown, MISSING, "no such file")
    actual = sha256_file(path)
    if actual != recorded:
        return FileCheck(run_id, shown, DIFFERS,
                         f"sha256 {_short(actual)} but the manifest records {_short(recorded)}")
    return FileCheck(run_id, shown, OK, f"sha256 {_short(actual)}")


def _check_snapshot(paths: HomePaths, run_id: str, record: Mapping[str, Any]) -> FileCheck:
    name = snapshot_file_name(run_id)
    shown = f"duckdb/{name}"
    recorded = record.get("sha256")
    if not isinstance(recorded, str):
        return FileCheck(run_id, shown, NOT_VERIFIABLE,
                         "the manifest records no sha256 (published before snapshots "
                         "were hashed)")
    try:
        path = checked_snapshot(paths.duckdb_dir, name)
    except UnsafeSnapshotError as exc:
        return FileCheck(run_id, shown, REFUSED, exc.reason)
    return _check_file(run_id, path, shown, recorded)


def _check_sources(paths: HomePaths, run_id: str, document: Mapping[str, Any]) -> list[FileCheck]:
    tables = (document.get("ingestion") or {}).get("tables") or {}
    recorded = {(str(t.get("source_file")), t.get("sha256")) for t in tables.values()
                if isinstance(t, Mapping)}
    data_dir = paths.run(run_id).run_data_dir
    checks = []
    for source_file, digest in sorted(recorded):
        shown = f"data/{run_id}/{source_file}"
        if not isinstance(digest, str) or Path(source_file).name != source_file:
            checks.append(FileCheck(run_id, shown, NOT_VERIFIABLE,
                                    "the manifest records no usable sha256 for it"))
            continue
        checks.append(_check_file(run_id, data_dir / source_file, shown, digest))
    if not checks:
        checks.append(FileCheck(run_id, f"data/{run_id}/", NOT_VERIFIABLE,
                                "the manifest records no source file hashes"))
    return checks


def verify_run(paths: HomePaths, document: Mapping[str, Any]) -> list[FileCheck]:
    """Re-hash a published run's snapshot and source files against its manifest."""
    run_id = str(document["run_id"])
    if document.get("status") != "success":
        return [FileCheck(run_id, f"duckdb/{snapshot_file_name(run_id)}", NOT_VERIFIABLE,
                          f"run status {document.get('status')}: nothing was published")]
    record = document.get("snapshot")
    return [_check_snapshot(paths, run_id, record if isinstance(record, Mapping) else {}),
            *_check_sources(paths, run_id, document)]
