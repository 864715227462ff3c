"""The ``LATEST_DB.txt`` pointer: read it safely, replace it atomically under a lock.

Readers (the dashboards, the next run) only ever see the old or the new file name,
never a partial write: the new content is written to a temporary file, fsynced, and
renamed over the pointer, and the directory is fsynced so the rename survives a crash.
The lock serialises concurrent publishers so that "read previous, move pointer" is
one step per run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

from foundation import untrusted_files
from foundation.paths import POINTER_NAME, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX, HomePaths
from pipeline.records.integrity import REFUSAL, UnsafeSnapshotError, checked_snapshot

POINTER_CONTENT = re.compile(
    rf"^{re.escape(SNAPSHOT_PREFIX)}(?P<run_id>[A-Za-z0-9_-]{{1,64}}){re.escape(SNAPSHOT_SUFFIX)}$"
)
#: how messages name the pointer: relative to the home, which the dashboards never reveal
POINTER_SHOWN = f"duckdb/{POINTER_NAME}"
#: a pointer holds one snapshot file name; a larger file is not a pointer the pipeline wrote
POINTER_LIMIT = 4096


class PointerError(ValueError):
    """The pointer exists but does not name a usable snapshot."""


def read_pointer(paths: HomePaths) -> str | None:
    """Run id the pointer names, ``None`` if there is no pointer yet.

    Raises PointerError when the pointer is corrupt, names a missing file, or names a
    symbolic link or a file outside ``duckdb/`` (never served), so that callers decide
    whether to fall back (the dashboards) or to stop (the CLI). The pointer itself must be
    a small regular file: a symbolic link (to ``/etc/passwd``, or to a pointer elsewhere)
    or a FIFO is refused without reading it or waiting on it, and its content is never
    quoted.
    """
    try:
        content = untrusted_files.read_text(paths.pointer, home=paths.home,
                                            limit=POINTER_LIMIT).strip()
    except FileNotFoundError:
        return None
    except untrusted_files.UntrustedFileError as exc:
        raise PointerError(f"{POINTER_SHOWN} {exc.reason}") from None
    match = POINTER_CONTENT.fullmatch(content)
    if match is None:
        raise PointerError(f"{POINTER_SHOWN} is corrupt: {content[:80]!r} is not a snapshot name")
    try:
        snapshot = checked_snapshot(paths.duckdb_dir, content)
    except UnsafeSnapshotError as exc:
        raise PointerError(f"{POINTER_SHOWN} names {content}, which {exc.reason}: "
                           f"{REFUSAL}") from exc
    if not snapshot.is_file():
        raise PointerError(f"{POINTER_SHOWN} names {content}, which does not exist")
    return match.group("run_id")


@contextlib.contextmanager
def publish_lock(paths: HomePaths) -> Iterator[None]:
    """Exclusive advisory lock held while a run moves the pointer."""
    paths.duckdb_dir.mkdir(parents=True, exist_ok=True)
    with paths.publish_lock.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` so readers see either the old or the new file."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        # a full disk (or a signal) must not leave a half-written temporary file behind
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def write_pointer(paths: HomePaths, snapshot_name: str) -> None:
    """Point readers at ``snapshot_name``; call only while holding ``publish_lock``."""
    if not POINTER_CONTENT.fullmatch(snapshot_name):
        raise PointerError(f"refusing to point at {snapshot_name!r}: not a snapshot name")
    write_atomically(paths.pointer, snapshot_name + "\n")
