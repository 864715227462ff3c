"""A local cache of archived runs: downloaded once, verified, then reused.

A dashboard host or a second machine serves runs from the archive without running the
pipeline. Snapshots reach gigabytes, so each run's files are downloaded once into a cache
folder laid out as a home (``duckdb/``, ``logs/``): the dashboards and ``runs.py`` read it
with the code that reads any home. A file enters the cache only through
:meth:`~pipeline.storage.objects.ObjectStore.download`, which renames it into place after
its sha256 matched the run's archive record, so an altered or truncated object is
refused and never left behind as if complete.

Reuse is checked cheaply on every call (the file is still a regular file of the size and
modification time it had when it was verified, and the record still gives the same
sha256), and with a full re-hash on request (``rehash=True``, for a process's first use).
The cache's own index (``.archive_cache/<run_id>.json``) is read as untrusted input: a
damaged or planted index only causes a download.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation import untrusted_files
from foundation.paths import HomePaths
from pipeline.records import manifest as manifest_io
from pipeline.records.integrity import sha256_file
from pipeline.records.pointer import publish_lock, write_atomically, write_pointer
from pipeline.storage.archive import Archive
from pipeline.storage.archive_record import ArchivedFile, ArchivedRun
from pipeline.storage.errors import IntegrityError, ObjectNotFoundError, StorageError
from pipeline.storage.objects import PARTIAL_SUFFIX

logger = logging.getLogger(__name__)

INDEX_FOLDER = ".archive_cache"
INDEX_LIMIT = 256 * 1024


@dataclass(frozen=True)
class CachedRun:
    """A run's files in the cache, all verified; ``home`` can be read as any home."""

    run_id: str
    home: Path
    snapshot: Path
    downloaded: tuple[str, ...]
    reused: tuple[str, ...]


class RunCache:
    """The cache folder ``root``, laid out as a home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths = HomePaths(root)

    def _index_path(self, run_id: str) -> Path:
        return self.root / INDEX_FOLDER / f"{run_id}.json"

    @contextlib.contextmanager
    def _locked(self, run_id: str) -> Iterator[None]:
        """One downloader per run at a time (dashboard sessions share the cache)."""
        folder = self.root / INDEX_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{run_id}.lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read_index(self, run_id: str) -> dict[str, dict[str, Any]]:
        try:
            document = untrusted_files.read_json(self._index_path(run_id), home=self.root,
                                                 limit=INDEX_LIMIT)
        except (FileNotFoundError, untrusted_files.UntrustedFileError):
            return {}
        files = document.get("files") if isinstance(document, dict) else None
        return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(
            files, dict) else {}

    def _write_index(self, run_id: str, files: dict[str, dict[str, Any]]) -> None:
        write_atomically(self._index_path(run_id),
                         json.dumps({"run_id": run_id, "files": files}, indent=2) + "\n")

    def _reusable(self, item: ArchivedFile, dest: Path, entry: dict[str, Any] | None, *,
                  rehash: bool) -> bool:
        if not entry or entry.get("sha256") != item.sha256 or not untrusted_files.is_regular_file(
                dest):
            return False
        stat = dest.lstat()
        if stat.st_size != item.size or entry.get("size") != item.size or entry.get(
                "mtime_ns") != stat.st_mtime_ns:
            return False
        return not rehash or sha256_file(dest) == item.sha256

    @staticmethod
    def _remove_partials(dest: Path) -> None:
        """Partial downloads of ``dest`` left by a process that was killed."""
        if dest.parent.is_dir():
            for leftover in dest.parent.glob(f".{dest.name}.*{PARTIAL_SUFFIX}"):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def fetch(self, archive: Archive, run_id: str | None = None, *,
              rehash: bool = False, include_snapshot: bool = True,
              record: ArchivedRun | None = None) -> CachedRun:
        """Every file of an archived run (default: the one ``LATEST`` names), verified.

        ``include_snapshot=False`` fetches only the run's small files (manifest, log,
        schema, dbt artefacts), e.g. to list every archived run before one is picked.

        Raises ObjectNotFoundError when the archive has no such run (or no run at all),
        IntegrityError subclasses for an altered or truncated object (nothing is left in
        the cache for it), and the store's other StorageErrors.
        """
        run_id = run_id or (record.run_id if record else None) or archive.latest()
        if run_id is None:
            raise ObjectNotFoundError(f"the archive {archive} holds no run yet (no LATEST)")
        if record is None or record.run_id != run_id:
            record = archive.record(run_id)
        downloaded, reused = [], []
        with self._locked(run_id):
            index = self._read_index(run_id)
            try:
                for item in record.files:
                    if not include_snapshot and item == record.snapshot:
                        continue
                    dest = untrusted_files.confined(self.root / item.path, self.root)
                    self._remove_partials(dest)
                    if self._reusable(item, dest, index.get(item.path), rehash=rehash):
                        reused.append(item.path)
                        continue
                    index.pop(item.path, None)
                    archive.store.download(archive.run_key(run_id, item.path), dest,
                                           expected_sha256=item.sha256,
                                           expected_size=item.size)
                    if item == record.snapshot:
                        self._restore_published_mtime(run_id, dest)
                    index[item.path] = {"sha256": item.sha256, "size": item.size,
                                        "mtime_ns": dest.lstat().st_mtime_ns}
                    downloaded.append(item.path)
            except untrusted_files.UntrustedFileError as exc:
                raise StorageError(f"the cache {self.root} cannot hold run {run_id}: "
                                   f"{exc}") from None
            finally:
                self._write_index(run_id, index)
        if downloaded:
            logger.info("cached run %s from %s: %d files downloaded, %d reused", run_id,
                        archive, len(downloaded), len(reused))
        return CachedRun(run_id=run_id, home=self.root,
                         snapshot=self.root / record.snapshot.path,
                         downloaded=tuple(downloaded), reused=tuple(reused))

    def _restore_published_mtime(self, run_id: str, snapshot: Path) -> None:
        """Give the downloaded snapshot the modification time its manifest recorded at
        publication (the manifest is fetched first), so readers that compare a snapshot
        with its manifest (size and mtime: the dashboards' "changed on disk" note) see
        the file as published. A manifest without one leaves the download's time."""
        document = manifest_io.load(self.paths.run(run_id).manifest)
        recorded = ((document or {}).get("snapshot") or {}).get("mtime_ns")
        if isinstance(recorded, int) and not isinstance(recorded, bool) and recorded > 0:
            os.utime(snapshot, ns=(recorded, recorded), follow_symlinks=False)

    def mirror(self, archive: Archive, *, rehash: bool = False) -> ArchiveMirror:
        """Every archived run's small files (manifest, log, schema, dbt artefacts), and the
        run ``LATEST`` names in full, pointed at by the cache home's ``LATEST_DB.txt``.

        So the pipeline's readers (``runs.py``, the dashboards) see the archive as a home:
        every archived run listed, the served one openable. Other snapshots are fetched
        when asked for (:meth:`fetch`). A run whose small files are refused (altered,
        truncated) is left out and named in ``skipped``; a refused ``LATEST`` run raises.
        """
        listing = archive.runs()
        skipped = list(listing.skipped)
        runs: list[str] = []
        for record in listing.runs:
            try:
                self.fetch(archive, record.run_id, include_snapshot=False, rehash=rehash,
                           record=record)
            except IntegrityError as exc:
                skipped.append(str(exc))
                continue
            runs.append(record.run_id)
        latest = archive.latest()
        served = None
        if latest is not None:
            served = self.fetch(archive, latest, rehash=rehash)
            with publish_lock(self.paths):
                write_pointer(self.paths, served.snapshot.name)
        return ArchiveMirror(archive=str(archive), latest=latest, runs=tuple(runs),
                             skipped=tuple(skipped), served=served)

    def serve_latest(self, archive: Archive, *, rehash: bool = False) -> CachedRun:
        """Fetch the run ``LATEST`` names and point the cache home's ``LATEST_DB.txt`` at
        it, so the dashboards serve the cache as they serve any home."""
        cached = self.fetch(archive, rehash=rehash)
        with publish_lock(self.paths):
            write_pointer(self.paths, cached.snapshot.name)
        return cached


@dataclass(frozen=True)
class ArchiveMirror:
    """What :meth:`RunCache.mirror` found: the run ``LATEST`` names (None: no run yet),
    every archived run whose files are in the cache (oldest first by the ``LATEST`` rule),
    the runs or folders left out and why, and the served run's cached files."""

    archive: str
    latest: str | None
    runs: tuple[str, ...]
    skipped: tuple[str, ...]
    served: CachedRun | None


def default_cache_root(home: Path) -> Path:
    """Where a home keeps its archive cache unless told otherwise
    (``CARTON_CAPS_ARCHIVE_CACHE``)."""
    env = os.environ.get("CARTON_CAPS_ARCHIVE_CACHE")
    return Path(env).expanduser() if env else home / "archive_cache"
