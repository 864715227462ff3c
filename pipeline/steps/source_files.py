"""The loader's view of a run's source files, and the check that they are the ones recorded.

The loader reads a local folder itself. For object storage this module adapts a landing
to the loader's :class:`~loader.sources.SourceFiles`: the CSV exports are read straight
from the bucket by DuckDB's httpfs (a temporary, in-memory S3 secret on the load's
connection only), a CSV's header by one ranged GET, and ``app.sqlite``, which SQLite can
only open as a local file, is first downloaded into the run's temporary folder and
verified against the sha256 the run recorded for it.

After the load, :func:`confirm` makes the manifest's ``sources`` true of the bytes loaded:
objects must still have the ETag and size they were listed with (nobody replaced one
while DuckDB streamed it), an object whose sha256 came from its metadata must hash to it
(the loader hashes each CSV object beside the load, as it hashes local files: an altered
or truncated object is refused before anything is published), a replayed local file must
hash as it did when it was listed, and a run generated on local disk gets its record from
the loader's own hashes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import duckdb
from foundation.source_tables import APP_DB_FILE
from loader import LoadReport
from loader.sources import SourceFile, SourceFiles
from pipeline.lifecycle.errors import StepError
from pipeline.lifecycle.step_types import RunState
from pipeline.records.run_manifest import SourceFileRecord, SourcesRecord
from pipeline.steps.sources import source_location
from pipeline.steps.storage_failures import one_line
from pipeline.storage.duckdb_s3 import configure_s3, drop_s3, read_error
from pipeline.storage.errors import StorageError
from pipeline.storage.landing import SourceObject, assert_unchanged, fetch_sqlite, list_sources
from pipeline.storage.objects import ObjectStore
from pipeline.storage.uris import StorageLocation


class ObjectSourceFiles(SourceFiles):
    """A run's folder in object storage, as the loader reads it."""

    def __init__(self, location: StorageLocation, record: SourcesRecord, store: ObjectStore,
                 sqlite: Path) -> None:
        self.location = location
        self.record = record
        self.store = store
        self.sqlite = sqlite
        self.where = location.uri()

    def file(self, name: str) -> SourceFile | None:
        found = self.record.file(name)
        if found is None:
            return None
        if name == APP_DB_FILE:  # the verified local copy
            return SourceFile(name, str(self.sqlite), found.size, found.sha256)
        # a digest taken from the object's metadata is checked against its bytes while
        # DuckDB loads them (digest below); one this run computed from the bytes is known
        known = found.sha256 if found.sha256_from != "metadata" else None
        return SourceFile(name, found.uri, found.size, known)

    def digest(self, file: SourceFile) -> str:
        found = self.record.file(file.name)
        with one_line():
            digest, _size = self.store.hash_object(self.location.key(file.name),
                                                   etag=found.etag if found else None)
        return digest

    def read_head(self, file: SourceFile, size: int) -> bytes:
        found = self.record.file(file.name)
        with one_line():
            return self.store.read_head(self.location.key(file.name), size,
                                        etag=found.etag if found else None)

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        with one_line():
            configure_s3(con, scope=self.location.uri())

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        drop_s3(con)

    def read_error(self, exc: duckdb.Error, file: SourceFile) -> str | None:
        problem = read_error(exc, uri=file.location)
        if type(problem) is StorageError:
            return None  # not about the store: a parse error, which the loader words
        return str(problem)


@dataclass(frozen=True)
class LoadSources:
    """What the load reads (a local folder or the adapter), and what was recorded of it."""

    location: StorageLocation
    files: Path | SourceFiles
    record: SourcesRecord | None
    store: ObjectStore | None = None


def open_sources(state: RunState) -> LoadSources:
    """The run's sources for the loader; for object storage, ``app.sqlite`` is fetched
    into the run's temporary folder and verified first."""
    location = source_location(state)
    record = state.manifest.sources
    if not location.is_s3:
        return LoadSources(location, location.path or Path(), record)
    with one_line():
        store = ObjectStore.for_location(location)
        if record is None:  # not landed nor listed by an earlier step: list now
            objects = list_sources(location, store=store)
            record = SourcesRecord(location.uri(), "replay", tuple(
                SourceFileRecord(o.name, o.uri, o.size, o.sha256, o.etag, o.sha256_from)
                for o in objects))
        app_db = record.file(APP_DB_FILE)
        if app_db is None:
            raise StepError(f"{APP_DB_FILE}: file not found in {location.uri()}")
        temp = state.paths.temp_dir
        temp.mkdir(mode=0o700, parents=True, exist_ok=True)
        local, _ = fetch_sqlite(location, temp, store=store, expected_sha256=app_db.sha256)
    return LoadSources(location, ObjectSourceFiles(location, record, store, local), record,
                       store)


def _checked(record: SourcesRecord, loaded: dict[str, tuple[str, int]]) -> SourcesRecord:
    """The record, each object's sha256 taken from its metadata now checked against the
    bytes the load read (``verified``); a mismatch is an altered or truncated object."""
    files = []
    for item in record.files:
        digest = loaded.get(item.name, (None, 0))[0]
        if item.sha256_from == "metadata" and digest is not None:
            if digest != item.sha256:
                raise StepError(f"{item.uri} has sha256 {digest[:12]}… but "
                                f"{item.sha256[:12]}… was recorded when it was written: "
                                "altered, truncated or damaged, refused")
            item = dataclasses.replace(item, sha256_from="verified")
        files.append(item)
    return dataclasses.replace(record, files=tuple(files))


def confirm(state: RunState, sources: LoadSources, report: LoadReport) -> SourcesRecord:
    """The manifest's ``sources`` after the load, checked against what was loaded."""
    loaded = {t.source_file: (t.sha256, t.bytes) for t in report.tables}
    if sources.store is not None and sources.record is not None:
        objects = [SourceObject(f.name, f.uri, f.size, f.etag, f.sha256, f.sha256_from)
                   for f in sources.record.files]
        with one_line():
            assert_unchanged(objects, store=sources.store)
        return _checked(sources.record, loaded)

    if sources.record is not None:  # a replayed folder: the bytes loaded are those listed
        for name, (sha256, _size) in sorted(loaded.items()):
            listed = sources.record.file(name)
            if listed is not None and listed.sha256 != sha256:
                raise StepError(f"{listed.uri} changed while the run read it (sha256 "
                                f"{listed.sha256[:12]}… when listed, {sha256[:12]}… when "
                                "loaded): the load cannot be trusted, rerun")
        return sources.record
    folder = sources.location.path or Path()
    return SourcesRecord(str(folder), "generated", tuple(
        SourceFileRecord(name, str(folder / name), size, sha256)
        for name, (sha256, size) in sorted(loaded.items())))
