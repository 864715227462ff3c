"""Re-hash an archived run's objects against its record: is the archive still intact?

The cache verifies each object as it downloads it, but only the objects a reader asks
for, and only once. ``runs.py --archive URI verify`` asks the archive itself: every file
of a run's record is streamed and hashed (nothing is written to disk), and its size,
sha256 metadata and bytes compared with the record written when it was archived. An
object that was altered (whatever its metadata says), truncated, replaced or deleted is
named, like ``runs.py verify`` names a damaged file of a home.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.storage.archive import Archive
from pipeline.storage.archive_record import ArchivedRun
from pipeline.storage.errors import ObjectNotFoundError, StorageError
from pipeline.storage.objects import short

Verdict = Literal["ok", "differs", "missing"]


@dataclass(frozen=True)
class ObjectCheck:
    """One archived file checked: its run, home-relative path, verdict and why."""

    run_id: str
    path: str
    verdict: Verdict
    detail: str


def verify_archived_run(archive: Archive, record: ArchivedRun) -> list[ObjectCheck]:
    """Every file of ``record`` (from :meth:`Archive.record`), streamed and hashed.

    Raises StorageError for failures that are not about one object (the store
    unreachable, credentials refused): nothing about the run's files is known then.
    """
    checks = []
    for item in record.files:
        key = archive.run_key(record.run_id, item.path)
        try:
            info = archive.store.head(key)
            digest, size = archive.store.hash_object(key)
        except ObjectNotFoundError:
            checks.append(ObjectCheck(record.run_id, item.path, "missing",
                                      "the record lists it; the archive has no such object"))
            continue
        problems = []
        if size != item.size:
            problems.append(f"{size:,} bytes but {item.size:,} recorded")
        if digest != item.sha256:
            problems.append(f"sha256 {short(digest)} but {short(item.sha256)} recorded")
        if info.sha256 is not None and info.sha256 != item.sha256:
            problems.append(f"its metadata says sha256 {short(info.sha256)}")
        checks.append(ObjectCheck(record.run_id, item.path,
                                  "differs" if problems else "ok",
                                  "; ".join(problems) or f"sha256 {short(digest)}"))
    return checks


def verify_archive(archive: Archive, run_id: str | None = None, *,
                   every: bool = False) -> tuple[list[ObjectCheck], list[str]]:
    """The checks of one run (default: the one ``LATEST`` names) or, with ``every``, of
    every archived run; and the run folders the listing had to skip (no or a bad record:
    an archive cut short, or a planted folder)."""
    if every:
        listing = archive.runs()
        return ([check for record in listing.runs
                 for check in verify_archived_run(archive, record)], list(listing.skipped))
    run_id = run_id or archive.latest()
    if run_id is None:
        raise StorageError(f"the archive {archive} holds no run yet (no LATEST)")
    return verify_archived_run(archive, archive.record(run_id)), []
