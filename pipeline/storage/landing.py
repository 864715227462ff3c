"""Source files in a landing location: written there, listed with their hashes, fetched.

``--landing URI`` is where a run's source files live, one folder per run
(``<landing>/<run_id>/app.sqlite``, ``…/app_events.csv``, …), the generator's layout. A
run either lands the generator's output there (:func:`land_run`) or ingests files that
are already there (a replay, ``--source``). For the manifest every source object is
recorded with its URI, size, ETag and sha256 (:func:`list_sources`).

The loader reads the CSV exports straight from the bucket through DuckDB's httpfs
(:mod:`pipeline.storage.duckdb_s3`). The SQLite file cannot be read that way (SQLite
needs random access to a local file), so :func:`fetch_sqlite` downloads it into the
run's temporary folder and verifies it first. Bytes that DuckDB streams are not hashed as
they are read, so :func:`assert_unchanged` checks after the load that no object was
replaced since it was listed (same ETag and size), and the run fails if one was.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation import untrusted_files
from foundation.source_tables import APP_DB_FILE
from pipeline.records.integrity import sha256_file
from pipeline.storage.errors import IntegrityError, ObjectNotFoundError, StorageLocationError
from pipeline.storage.objects import ObjectStore, Progress, hash_stream
from pipeline.storage.uris import StorageLocation

#: a source object's name: one path segment (the generator writes no sub-folders)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
#: the kinds of file a run's source folder holds (the generator's output and faults.json)
SOURCE_SUFFIXES = (".csv", ".sqlite", ".json")


@dataclass(frozen=True)
class SourceObject:
    """One source file of a run: where it is, its size, ETag (None for a local file) and
    sha256, and where the sha256 came from (``metadata``: written with the object;
    ``computed``: hashed from its bytes)."""

    name: str
    uri: str
    size: int
    etag: str | None
    sha256: str
    sha256_from: str

    def manifest_entry(self) -> dict[str, Any]:
        return {"uri": self.uri, "size": self.size, "etag": self.etag, "sha256": self.sha256}


def run_location(landing: StorageLocation, run_id: str) -> StorageLocation:
    """Where run ``run_id``'s source files live below the landing location."""
    return landing.child(run_id)


def _store(location: StorageLocation, store: ObjectStore | None) -> ObjectStore:
    if not location.is_s3:
        raise StorageLocationError(f"{location} is a local folder: no object store to use")
    return store or ObjectStore.for_location(location)


def land_run(local_dir: Path, dest: StorageLocation, *, home: Path,
             store: ObjectStore | None = None,
             progress: Progress | None = None) -> tuple[SourceObject, ...]:
    """Upload the source files the generator wrote to ``local_dir`` into ``dest``.

    Every regular file directly in ``local_dir`` with a source suffix goes up with its
    sha256 (the plaintext PII of the exports leaves the machine only for the landing the
    operator named). Returns the landed objects, sorted by name.
    """
    store = _store(dest, store)
    store.check_bucket()
    landed = []
    for path in sorted(local_dir.iterdir()):
        if path.suffix not in SOURCE_SUFFIXES or not _NAME.fullmatch(path.name):
            continue
        try:
            handle = untrusted_files.open_regular(path, home=home)
        except untrusted_files.UntrustedFileError:
            continue  # a link or folder planted in the run's data folder is not a source
        with handle:
            size = os.fstat(handle.fileno()).st_size
            digest, _ = hash_stream(handle)
            handle.seek(0)
            info = store.put_file(handle, dest.key(path.name), size=size, sha256=digest,
                                  progress=progress)
        landed.append(SourceObject(path.name, info.uri, size, info.etag, digest, "metadata"))
    return tuple(landed)


def list_sources(source: StorageLocation, *, store: ObjectStore | None = None,
                 home: Path | None = None) -> tuple[SourceObject, ...]:
    """Every source file of a run's source location, with its sha256, sorted by name.

    Objects written without sha256 metadata (exports a user placed) are streamed once to
    hash them. A local folder is listed the same way (``home`` bounds where its files may
    resolve; default: the folder itself).
    """
    if not source.is_s3:
        return _list_local(source.path or Path(), home=home)
    store = _store(source, store)
    store.check_bucket()
    prefix = source.key() + "/" if source.key() else ""
    found = []
    for item in store.list(prefix):
        name = item.key[len(prefix):]
        if "/" in name or not _NAME.fullmatch(name) or not name.endswith(SOURCE_SUFFIXES):
            continue
        info = store.head(item.key)
        if info.sha256 is not None:
            found.append(SourceObject(name, info.uri, info.size, info.etag, info.sha256,
                                      "metadata"))
        else:
            digest, size = store.hash_object(item.key)
            found.append(SourceObject(name, info.uri, size, info.etag, digest, "computed"))
    return tuple(sorted(found, key=lambda o: o.name))


def _list_local(folder: Path, *, home: Path | None) -> tuple[SourceObject, ...]:
    found = []
    for path in sorted(folder.iterdir()):
        if (path.suffix in SOURCE_SUFFIXES and _NAME.fullmatch(path.name)
                and untrusted_files.is_regular_file(path)):
            untrusted_files.confined(path, home or folder)
            found.append(SourceObject(path.name, str(path), path.stat().st_size, None,
                                      sha256_file(path), "computed"))
    return tuple(found)


def fetch_sqlite(source: StorageLocation, temp_dir: Path, *,
                 store: ObjectStore | None = None,
                 expected_sha256: str | None = None) -> tuple[Path, SourceObject]:
    """Download the run's ``app.sqlite`` into ``temp_dir``, verified, for the loader.

    The bytes must match ``expected_sha256`` (from :func:`list_sources`, so the file
    loaded is the one the manifest records) and the object's sha256 metadata when it has
    one. Raises ObjectNotFoundError when the run has no app.sqlite, IntegrityError on a
    mismatch (nothing is left in ``temp_dir``).
    """
    store = _store(source, store)
    key = source.key(APP_DB_FILE)
    dest = temp_dir / APP_DB_FILE
    # the app database holds plaintext PII: readable by the run's owner only
    info = store.download(key, dest, expected_sha256=expected_sha256, mode=0o600)
    return dest, SourceObject(APP_DB_FILE, info.uri, info.size, info.etag,
                              info.sha256 or "", "verified" if expected_sha256 else "computed")


def csv_uri(source: StorageLocation, name: str) -> str:
    """The URI DuckDB's ``read_csv`` reads a CSV export from (pass it as a bound
    parameter, never formatted into SQL)."""
    if not _NAME.fullmatch(name) or not name.endswith(".csv"):
        raise StorageLocationError(f"{name[:40]!r} is not a source CSV name")
    return source.uri(name)


def assert_unchanged(objects: Iterable[SourceObject], *, store: ObjectStore) -> None:
    """Fail when a source object was replaced or removed since it was listed.

    Called after the loader read the objects: their ETag and size must be as listed, so
    the sha256 the manifest records is that of the bytes loaded.
    """
    for item in objects:
        if item.etag is None:
            continue
        key = item.uri.removeprefix(f"s3://{store.bucket}/")
        try:
            now = store.head(key)
        except ObjectNotFoundError:
            raise IntegrityError(f"{item.uri} was removed while the run read it") from None
        if now.etag != item.etag or now.size != item.size:
            raise IntegrityError(f"{item.uri} was replaced while the run read it (ETag "
                                 f"{item.etag[:12]} → {now.etag[:12]}): the load cannot be "
                                 "trusted, rerun")
