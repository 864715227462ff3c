"""``runs.py --archive URI``: the runs of an archive, read through a verified local cache.

The archive (``s3://bucket/prefix``, or ``$CARTON_CAPS_ARCHIVE``) is mirrored into the
cache folder (``<home>/archive_cache/`` or ``$CARTON_CAPS_ARCHIVE_CACHE``), laid out as a
home: every archived run's manifest, log, schema snapshot and dbt artefacts, and the
snapshot of the run ``LATEST`` names, each verified against its sha256 as it arrives
(:meth:`pipeline.storage.cache.RunCache.mirror`). ``list``, ``show``, ``diff`` and
``schema`` then read the cache as they read any home. ``verify`` re-hashes the archive's
own objects (:mod:`pipeline.storage.archive_verify`); ``push`` archives a published run
of the home (the remedy when a run's own archive upload failed: it resumes).

Exit codes, beside ``runs.py``'s own: 1 when an object is altered, truncated or missing
(refused, named), 2 when the archive cannot be used (a bad URI, the store unreachable,
credentials refused, no such bucket or run).
"""

from __future__ import annotations

import os
from pathlib import Path

from foundation.paths import HomePaths
from pipeline.records import manifest as manifest_io
from pipeline.storage.archive import Archive
from pipeline.storage.archive_verify import verify_archive
from pipeline.storage.cache import ArchiveMirror, RunCache, default_cache_root
from pipeline.storage.errors import ArchiveRecordError, IntegrityError, StorageError

#: the archive the dashboards and runs.py read when none is given on the command line
ARCHIVE_ENV = "CARTON_CAPS_ARCHIVE"


def archive_uri(given: str | None) -> str | None:
    """``--archive``, else ``$CARTON_CAPS_ARCHIVE`` (empty: none)."""
    return given if given is not None else (os.environ.get(ARCHIVE_ENV) or None)


def is_damage(exc: StorageError) -> bool:
    """Whether a failure means an archived object is not what was written (exit 1), as
    opposed to an archive that cannot be reached or used (exit 2)."""
    return isinstance(exc, IntegrityError | ArchiveRecordError)


def mirrored_home(uri: str, home: Path) -> tuple[HomePaths, ArchiveMirror]:
    """The cache home holding the archive's runs, brought up to date."""
    cache = RunCache(default_cache_root(home))
    mirror = cache.mirror(Archive.connect(uri))
    return cache.paths, mirror


def mirror_notes(mirror: ArchiveMirror) -> list[str]:
    """What ``list`` adds below its table: the archive, its LATEST and what was skipped."""
    notes = [f"skipped {reason}" for reason in mirror.skipped]
    cached = mirror.served.home if mirror.served else "-"
    notes.append(f"archive {mirror.archive}: {len(mirror.runs)} archived run(s); LATEST: "
                 f"{mirror.latest or 'none yet'} (* above; verified copy in {cached})")
    return notes


def cmd_verify(uri: str, run_id: str | None, every: bool) -> tuple[str, bool]:
    """Every object of the run (default: LATEST's) or of every run, re-hashed; the text
    and whether anything differs."""
    checks, skipped = verify_archive(Archive.connect(uri), run_id, every=every)
    width = max([len(c.path) for c in checks] + [4])
    lines = [f"{c.run_id}  {c.path.ljust(width)}  {c.verdict.upper():8}  {c.detail}"
             for c in checks]
    lines += [f"skipped {reason}" for reason in skipped]
    damaged = [c for c in checks if c.verdict != "ok"]
    lines.append(f"{len({c.run_id for c in checks})} run(s), {len(checks)} object(s) in "
                 f"{uri}: {len(checks) - len(damaged)} ok, {len(damaged)} differ from the "
                 "record")
    if damaged:
        lines.append("DAMAGED: " + ", ".join(f"{c.run_id}/{c.path}" for c in damaged))
    return "\n".join(lines), bool(damaged)


def cmd_push(uri: str, paths: HomePaths, run_id: str) -> str:
    """Archive published run ``run_id`` of the home, then move LATEST by the as-of rule."""
    manifest_io.find_run(paths, run_id)  # unknown or damaged: the usual message
    result = Archive.connect(uri).upload_run(paths.run(run_id))
    latest = ("LATEST moved to it" if result.latest_updated
              else f"LATEST stays on {result.latest_run_id}")
    return (f"archived run {run_id} to {result.uri}: {len(result.files)} files, "
            f"{len(result.uploaded)} sent (the others were there intact); {latest}")

