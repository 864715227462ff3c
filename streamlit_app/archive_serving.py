"""The dashboards served from an archive (``CARTON_CAPS_ARCHIVE``): one part of the data layer.

A dashboard host needs no pipeline and no copy of anyone's home: with
``CARTON_CAPS_ARCHIVE=s3://bucket/prefix`` the app mirrors the archive into a local cache
laid out as a home (``<home>/archive_cache/``, or ``CARTON_CAPS_ARCHIVE_CACHE``): every
archived run's manifest, log, schema snapshot and dbt artefacts, and the snapshot of the
run the archive's ``LATEST`` names, each verified against its sha256 before it is used
(:meth:`pipeline.storage.cache.RunCache.mirror`). Every other part of the data layer then
reads that home as it reads any other (:func:`streamlit_app.snapshots.home_paths`).

The archive is asked again at most every :data:`SYNC_SECONDS` per process (a new publish
shows within that time); the first time a process uses the cache, files already there are
re-hashed in full. An altered or truncated object is refused with its one-line reason:
the app keeps serving the newest run it verified before, saying why, or shows that
reason as the page's error when it has none. Other runs' snapshots (a pinned run, the
previous run's KPIs) are downloaded, verified, the first time a page needs them.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from foundation.paths import HomePaths, default_home, snapshot_file_name
from pipeline.storage.archive import Archive
from pipeline.storage.cache import ArchiveMirror, RunCache, default_cache_root
from pipeline.storage.errors import StorageError

#: the environment variable naming the archive to serve (``s3://bucket/prefix``)
ARCHIVE_ENV = "CARTON_CAPS_ARCHIVE"
#: how long one look at the archive is trusted before it is asked again
SYNC_SECONDS = 60.0


@dataclass(frozen=True)
class ArchiveView:
    """What the last look at the archive found: the runs mirrored (None before the first
    successful look) and the reason the last look failed, if it did."""

    uri: str
    cache: HomePaths
    mirror: ArchiveMirror | None
    problem: str | None = None


_lock = threading.Lock()
_views: dict[tuple[str, str], tuple[float, ArchiveView]] = {}
_verified: set[tuple[str, str]] = set()


def archive_uri() -> str | None:
    """The archive the dashboards serve from (None: they serve the home)."""
    return os.environ.get(ARCHIVE_ENV) or None


def cache_root() -> Path:
    return default_cache_root(default_home())


def served_home() -> HomePaths | None:
    """The cache home when serving from an archive (None: serve the home itself)."""
    return HomePaths(cache_root()) if archive_uri() else None


def view() -> ArchiveView | None:
    """The archive as last mirrored, mirroring it again when that is older than
    :data:`SYNC_SECONDS` (None when no archive is configured)."""
    uri = archive_uri()
    if uri is None:
        return None
    root = cache_root()
    key = (uri, str(root))
    with _lock:
        known = _views.get(key)
        if known is not None and time.monotonic() - known[0] < SYNC_SECONDS:
            return known[1]
        try:
            mirror = RunCache(root).mirror(Archive.connect(uri), rehash=key not in _verified)
            current = ArchiveView(uri, HomePaths(root), mirror)
            _verified.add(key)
        except StorageError as exc:
            current = ArchiveView(uri, HomePaths(root), known[1].mirror if known else None,
                                  str(exc))
        _views[key] = (time.monotonic(), current)
        return current


def archived_runs(paths: HomePaths) -> frozenset[str] | None:
    """The archived runs when ``paths`` is the served cache home (None otherwise: the
    caller counts the runs whose snapshots are on disk, as for any home)."""
    served = served_home()
    if served is None or served.home != paths.home:
        return None
    current = view()
    return frozenset(current.mirror.runs) if current and current.mirror else frozenset()


def fetch_snapshot(run_id: str) -> Path:
    """The verified cached snapshot of an archived run, downloaded the first time it is
    needed; raises StorageError (one line) when it is refused or cannot be fetched."""
    uri = archive_uri()
    root = cache_root()
    if uri is None:
        return HomePaths(root).duckdb_dir / snapshot_file_name(run_id)
    return RunCache(root).fetch(Archive.connect(uri), run_id).snapshot
