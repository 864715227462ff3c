"""Disk space: refuse a run the home clearly cannot hold, and name a full disk as the cause.

A full disk surfaces in many shapes — an ``OSError`` with ``ENOSPC`` from our own writes,
a DuckDB ``IOException`` that quotes the OS message, a dbt subprocess that died writing
its log — and, left alone, each step would report its own symptom. The runner asks
:func:`is_disk_full` about every failure and records one message instead: which folder,
and how much room is left there.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

#: Bytes one user adds to a run (540 days of history), measured on a 1,000,000-user run:
#: generated files 2.71 GB and snapshot 1.53 GB, i.e. 4.2 KB per user. The estimate takes
#: a little less, so that only a home that clearly cannot hold the run is refused.
BYTES_PER_USER = 4_000
REFERENCE_DAYS = 540
#: What a run writes whatever its size (measured at 2,000 users): dbt's target and logs
#: (6 MB) and a snapshot's schemas, views and fixed mart rows (14 MB).
FIXED_BYTES = 18 * 1024**2
DISK_FULL_TEXT = "no space left on device"


class InsufficientSpaceError(RuntimeError):
    """The home has clearly too little free space for the run; the message says how much."""


def format_bytes(count: int) -> str:
    """1536 -> '1.5 KiB': the unit an operator reads at a glance."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def free_bytes(folder: Path) -> int:
    """Free space of the file system holding ``folder`` (or its nearest existing parent)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return shutil.disk_usage("/").free


def estimate_run_bytes(users: int, days: int) -> int:
    """Room one run needs: its generated files, its snapshot, dbt's target and its logs."""
    return FIXED_BYTES + round(BYTES_PER_USER * users * max(days, 1) / REFERENCE_DAYS)


def check_room(home: Path, users: int, days: int) -> None:
    """Raise :class:`InsufficientSpaceError` when ``home`` cannot hold the run's estimate."""
    needed = estimate_run_bytes(users, days)
    free = free_bytes(home)
    if free < needed:
        raise InsufficientSpaceError(
            f"not enough free space in {home}: a run of {users:,} users over {days} days "
            f"needs about {format_bytes(needed)}, and {format_bytes(free)} is free")


def is_disk_full(exc: BaseException) -> bool:
    """Whether a full disk caused ``exc`` (anywhere in its chain of causes)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if DISK_FULL_TEXT in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def disk_full_message(folder: Path, needed: int | None = None) -> str:
    """The one message a full disk is recorded with: the folder, and the room a run of
    this size needs. (Not the free space at the moment of recording: by then the failed
    write has given back its blocks, and "5 MiB free" beside "no space left" misleads.)"""
    if needed is None:
        return f"{DISK_FULL_TEXT} in {folder}"
    return f"{DISK_FULL_TEXT} in {folder} (a run of this size needs about {format_bytes(needed)})"


def unwritable_folders(folders: list[Path]) -> list[Path]:
    """Those of ``folders`` (or, for one not made yet, its nearest existing parent) this
    process cannot write: a read-only mount or missing permission, found before anything
    is written rather than as a failure half-way."""
    refused = []
    for folder in folders:
        existing = next((c for c in (folder, *folder.parents) if c.exists()), None)
        if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
            refused.append(folder)
    return refused
