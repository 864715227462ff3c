"""Archiving published runs to ``s3://bucket/prefix`` and reading the archive back.

A published run is uploaded file by file under ``runs/<run_id>/`` (each object with its
sha256; the snapshot in parts), then its record, then ``LATEST`` moves to the newest
completely archived run by the pointer's own rule
(:func:`pipeline.records.publication_order.order_key`: newest as-of, then newest start; this
run, unless it is a backfill). Each stage starts only when the one before completed, so
an upload cut anywhere leaves ``LATEST`` on the previous run and no record for the cut
run: readers never see it. Archiving the same run again after a cut resumes: the cut
upload's parts are aborted, and files already in the archive with the right sha256 are
not sent again.

``LATEST`` is replaced with a conditional write (``If-Match`` on the ETag it was read
with), so two runs archiving at once cannot overwrite each other's decision unseen: the
loser reads again and decides again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from foundation import untrusted_files
from foundation.paths import RunPaths
from foundation.run_id import RUN_ID_PATTERN
from pipeline.records import manifest as manifest_io
from pipeline.storage.archive_record import (
    LATEST_LIMIT,
    LATEST_NAME,
    RECORD_LIMIT,
    RECORD_NAME,
    RUNS_FOLDER,
    ArchivedFile,
    ArchivedRun,
    check_as_of,
    check_instant,
    manifest_path,
    newest,
    parse_latest,
    parse_record,
    run_files,
    snapshot_path,
)
from pipeline.storage.errors import (
    ArchiveRecordError,
    ObjectNotFoundError,
    StorageError,
    StorageLocationError,
)
from pipeline.storage.objects import (
    ConditionFailed,
    ObjectInfo,
    ObjectStore,
    Progress,
    hash_stream,
    is_sha256,
)
from pipeline.storage.s3_client import S3Settings
from pipeline.storage.uris import StorageLocation, parse_location

logger = logging.getLogger(__name__)

#: how often a lost race for ``LATEST`` is decided again before giving up
LATEST_ATTEMPTS = 5


@dataclass(frozen=True)
class ArchiveResult:
    """What archiving one run did, for the run's manifest (``archive`` section)."""

    run_id: str
    uri: str
    files: tuple[ArchivedFile, ...]
    uploaded: tuple[str, ...]
    latest_run_id: str | None
    latest_updated: bool
    previous_latest: str | None

    def manifest_section(self) -> dict[str, Any]:
        return {"uri": self.uri, "files": [vars(f) for f in self.files],
                "uploaded": list(self.uploaded), "latest_updated": self.latest_updated,
                "latest_run_id": self.latest_run_id, "previous_latest": self.previous_latest}


@dataclass(frozen=True)
class ArchiveListing:
    """Every archived run, oldest first by the ``LATEST`` rule, and the run folders that
    were skipped (no record: an archive cut short; or a record that is not valid)."""

    runs: tuple[ArchivedRun, ...]
    skipped: tuple[str, ...]


class _Prefix:
    """The first ``size`` bytes of an open file, read as a file: a file that grows while it
    is archived (the run's own log) is archived as it stood when its upload began."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._left = size
        self._size = size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._handle.read(n)
        self._left -= len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise ValueError("only a rewind to the start is supported")
        self._left = self._size
        return self._handle.seek(0)


class Archive:
    """The archive at one ``s3://bucket/prefix``."""

    def __init__(self, location: StorageLocation, store: ObjectStore) -> None:
        if not location.is_s3:
            raise StorageLocationError(f"the archive must be an s3:// location, not {location}")
        self.location = location
        self.store = store

    @classmethod
    def connect(cls, uri: str | StorageLocation, settings: S3Settings | None = None,
                **store_options: int) -> Archive:
        """The archive at ``uri`` (``--archive``/``CARTON_CAPS_ARCHIVE``), with a client from
        the AWS environment. Nothing is contacted yet."""
        location = (uri if isinstance(uri, StorageLocation)
                    else parse_location(uri, what="--archive", allow_local=False))
        if not location.is_s3:
            raise StorageLocationError(f"the archive must be an s3:// location, not {location}")
        return cls(location, ObjectStore.for_location(location, settings, **store_options))

    def __str__(self) -> str:
        return self.location.uri()

    # ------------------------------------------------------------------ keys

    def run_key(self, run_id: str, path: str = "") -> str:
        return self.location.key(RUNS_FOLDER, run_id, path)

    def run_uri(self, run_id: str) -> str:
        return self.location.uri(RUNS_FOLDER, run_id) + "/"

    # ------------------------------------------------------------------ reading

    def latest_object(self) -> tuple[str | None, str | None]:
        """The run id ``LATEST`` names and its ETag; (None, None) when there is none."""
        key = self.location.key(LATEST_NAME)
        try:
            data, info = self.store.get_bytes(key, limit=LATEST_LIMIT)
        except ObjectNotFoundError:
            return None, None
        return parse_latest(data, shown=info.uri), info.etag

    def latest(self) -> str | None:
        """The run id ``LATEST`` names (None before the first archived run).

        Raises ArchiveRecordError when ``LATEST`` is corrupt or names a run without a
        valid record, StorageError for the store's failures.
        """
        run_id, _ = self.latest_object()
        if run_id is not None:
            self.record(run_id)
        return run_id

    def record(self, run_id: str) -> ArchivedRun:
        """The record of an archived run; ObjectNotFoundError when the run was never
        archived completely, ArchiveRecordError when the record is not valid."""
        key = self.run_key(run_id, RECORD_NAME)
        try:
            data, info = self.store.get_bytes(key, limit=RECORD_LIMIT)
        except ObjectNotFoundError:
            raise ObjectNotFoundError(f"run {run_id} is not in the archive {self} (no "
                                      f"complete archive: {self.store.uri(key)} is "
                                      "missing)") from None
        return parse_record(data, run_id, shown=info.uri)

    def runs(self) -> ArchiveListing:
        """Every completely archived run, oldest first; folders without a valid record
        are named in ``skipped``."""
        prefix = self.location.key(RUNS_FOLDER) + "/"
        runs, skipped = [], []
        for name in self.store.list_folders(prefix):
            if not RUN_ID_PATTERN.fullmatch(name):
                skipped.append(f"{self.store.uri(prefix)}{name[:64]}/ is not named after a "
                               "run id")
                continue
            try:
                runs.append(self.record(name))
            except (ObjectNotFoundError, ArchiveRecordError) as exc:
                skipped.append(str(exc))
        runs.sort(key=lambda run: run.order)
        return ArchiveListing(tuple(runs), tuple(skipped))

    # ------------------------------------------------------------------ writing

    def upload_run(self, paths: RunPaths, *, progress: Progress | None = None,
                   manifest_document: dict[str, Any] | None = None) -> ArchiveResult:
        """Archive a published run of the home ``paths`` names, then move ``LATEST`` to
        the newest archived run (this one, unless it is a backfill).

        The run's manifest must record a publication; its as-of date and start time decide
        ``LATEST``. It is read from the home (checked against its schema) unless the
        caller passes ``manifest_document``: the run's own document as it will be saved
        when the run ends (status ``success``), so that the archived manifest is final
        even when archiving is a step of the run. Raises StorageError subclasses (one line
        each); an interrupt aborts the upload in flight and propagates.
        """
        run_id = paths.run_id
        document = (self._published_manifest(paths) if manifest_document is None
                    else self._checked_document(paths, manifest_document))
        self.store.check_bucket()
        if self.store.abort_unfinished(self.run_key(run_id) + "/"):
            logger.info("aborted the unfinished uploads of an earlier, cut archive of run %s",
                        run_id)
        files, uploaded = [], []
        for relative, required in run_files(run_id):
            if manifest_document is not None and relative == manifest_path(run_id):
                item, sent = self._upload_document(paths, relative, document)
            else:
                item, sent = self._upload_file(paths, relative, required=required,
                                               document=document, progress=progress)
            if item is not None:
                files.append(item)
            if sent:
                uploaded.append(relative)
        record = ArchivedRun(
            run_id=run_id,
            as_of=check_as_of(str((document.get("params") or {}).get("as_of"))),
            started_at=check_instant(str(document.get("started_at")), "started_at"),
            published_at=check_instant(str(document.get("published_at")), "published_at"),
            archived_at=manifest_io.iso(manifest_io.utc_now()) or "", files=tuple(files))
        self.store.put_bytes(self.run_key(run_id, RECORD_NAME), record.to_json())
        logger.info("archived run %s to %s (%d files, %d sent)", run_id, self.run_uri(run_id),
                    len(files), len(uploaded))
        latest, previous, updated = self._move_latest(record)
        return ArchiveResult(run_id=run_id, uri=self.run_uri(run_id), files=tuple(files),
                             uploaded=tuple(uploaded), latest_run_id=latest,
                             latest_updated=updated, previous_latest=previous)

    @staticmethod
    def _is_published(document: dict[str, Any]) -> bool:
        """Whether the run published its snapshot: ``published_at`` is recorded when the
        snapshot is renamed into place, whether or not the local pointer moved (a backfill
        publishes without moving it, and is archived all the same)."""
        return (document.get("status") in ("success", "running")
                and bool(document.get("published_at")))

    def _published_manifest(self, paths: RunPaths) -> dict[str, Any]:
        try:
            document = manifest_io.read(paths.manifest, paths.home)
        except FileNotFoundError:
            raise StorageError(f"run {paths.run_id} has no manifest in the home: nothing "
                               "to archive") from None
        except manifest_io.ManifestError as exc:
            raise StorageError(f"run {paths.run_id} not archived: {exc}") from None
        return self._checked_document(paths, document)

    def _checked_document(self, paths: RunPaths, document: dict[str, Any]) -> dict[str, Any]:
        if document.get("run_id") != paths.run_id:
            raise StorageError(f"run {paths.run_id} not archived: its manifest holds another "
                               "run id")
        if not self._is_published(document):
            raise StorageError(f"run {paths.run_id} has not published a snapshot "
                               f"(status {document.get('status')}): not archived")
        return document

    def _upload_document(self, paths: RunPaths, relative: str,
                         document: dict[str, Any]) -> tuple[ArchivedFile, bool]:
        """The run's manifest from the caller's document, written as the run writes it."""
        data = (json.dumps(document, indent=2, default=str) + "\n").encode("utf-8")
        sha256 = hashlib.sha256(data).hexdigest()
        key = self.run_key(paths.run_id, relative)
        if self._already_there(key, len(data), sha256):
            return ArchivedFile(relative, len(data), sha256), False
        self.store.put_bytes(key, data)
        return ArchivedFile(relative, len(data), sha256), True

    def _upload_file(self, paths: RunPaths, relative: str, *, required: bool,
                     document: dict[str, Any],
                     progress: Progress | None) -> tuple[ArchivedFile | None, bool]:
        """Upload one file of the run unless the archive already holds it intact."""
        path = paths.home / relative
        shown = relative
        try:
            handle = untrusted_files.open_regular(path, home=paths.home)
        except FileNotFoundError:
            if required:
                raise StorageError(f"run {paths.run_id} not archived: {shown} is missing "
                                   "from the home") from None
            return None, False
        except untrusted_files.UntrustedFileError as exc:
            raise StorageError(f"run {paths.run_id} not archived: {exc}") from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            if relative != snapshot_path(paths.run_id):
                # the run's log still grows while its archive step logs: what is archived
                # is the file as it stands now, hashed and sent as exactly those bytes
                handle = _Prefix(handle, size)  # type: ignore[assignment]
            sha256 = self._expected_sha256(relative, paths, document, handle)
            key = self.run_key(paths.run_id, relative)
            if self._already_there(key, size, sha256):
                return ArchivedFile(relative, size, sha256), False
            self.store.put_file(handle, key, size=size, sha256=sha256, progress=progress)
        return ArchivedFile(relative, size, sha256), True

    @staticmethod
    def _expected_sha256(relative: str, paths: RunPaths, document: dict[str, Any],
                         handle: BinaryIO) -> str:
        """The snapshot's sha256 as its manifest recorded it at publication (so the upload
        checks the bytes against that, in the same pass); any other file hashed now."""
        if relative == snapshot_path(paths.run_id):
            recorded = (document.get("snapshot") or {}).get("sha256")
            if is_sha256(recorded):
                return str(recorded)
        digest, _ = hash_stream(handle)
        handle.seek(0)
        return digest

    def _already_there(self, key: str, size: int, sha256: str) -> bool:
        try:
            info: ObjectInfo = self.store.head(key)
        except ObjectNotFoundError:
            return False
        return info.size == size and info.sha256 == sha256

    def _move_latest(self, record: ArchivedRun) -> tuple[str | None, str | None, bool]:
        """Point ``LATEST`` at the newest completely archived run (``record`` included).

        Usually that is ``record`` or the run ``LATEST`` already names (a backfill leaves
        it); it is another run only when an earlier archive was cut between its record
        and ``LATEST``, which this completes. Returns (the run LATEST names now, the one
        it named before, whether it moved).
        """
        key = self.location.key(LATEST_NAME)
        for _ in range(LATEST_ATTEMPTS):
            try:
                current, etag = self.latest_object()
            except ArchiveRecordError as exc:
                logger.warning("  warning: replacing a corrupt LATEST (%s)", exc)
                current, etag = None, self.store.head(key).etag
            listing = self.runs()
            best = newest([*[r for r in listing.runs if r.run_id != record.run_id], record])
            if best is None or best.run_id == current:
                return current, current, False
            with contextlib.suppress(ConditionFailed):
                self.store.put_bytes(key, f"{best.run_id}\n".encode(),
                                     if_match=etag, if_absent=etag is None)
                logger.info("archive LATEST: %s (was %s)", best.run_id, current)
                return best.run_id, current, True
        raise StorageError(f"{self.store.uri(key)} kept changing while run {record.run_id} "
                           f"was deciding whether to move it ({LATEST_ATTEMPTS} attempts)")
