"""Reading files from a home as untrusted input: regular files inside the home, bounded.

Everything under a home (manifests, the pointer, schema snapshots, dbt's artefacts, run
logs, the PII key) can be edited, replaced or planted by anyone who can write there. A
reader must never follow a symbolic link out of the home (a pointer linked to
``/etc/passwd``), never block on a FIFO (``open`` of a FIFO for reading waits for a
writer), and never read an unbounded file into memory. So every read goes through
:func:`read_bytes`: the path must resolve inside the home, the last component is opened
with ``O_NOFOLLOW | O_NONBLOCK`` (a link or a FIFO is refused, never waited on), the open
file must be a regular file, and at most ``limit`` bytes are read. A refusal is an
:class:`UntrustedFileError` that names the file relative to the home and says why, and
never quotes the file's content.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

#: default bound of one read: manifests and dbt's artefacts of a 1,000,000-user run are a
#: few MB; anything far larger is not a file the pipeline wrote
DEFAULT_LIMIT = 64 * 1024**2


class UntrustedFileError(ValueError):
    """A file under the home that is refused or unreadable; ``shown`` is home-relative."""

    def __init__(self, shown: str, reason: str) -> None:
        self.shown = shown
        self.reason = reason
        super().__init__(f"{shown} {reason}")


def shown_path(path: Path, home: Path) -> str:
    """``path`` relative to the home (the home's location is never revealed)."""
    try:
        return str(path.relative_to(home))
    except ValueError:
        try:
            return str(path.resolve().relative_to(home.resolve()))
        except ValueError:
            return path.name


def confined(path: Path, home: Path) -> Path:
    """``path`` if it resolves inside ``home`` (a link among its parents may not leave it)."""
    if not path.resolve().is_relative_to(home.resolve()):
        raise UntrustedFileError(shown_path(path, home), "resolves outside the home: refused")
    return path


def _open(path: Path, home: Path) -> int:
    shown = shown_path(path, home)
    if path.is_symlink():
        raise UntrustedFileError(shown, "is a symbolic link: refused")
    confined(path, home)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UntrustedFileError(shown, "is a symbolic link: refused") from None
        raise UntrustedFileError(shown, f"cannot be read ({exc.strerror or exc})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a FIFO" if stat.S_ISFIFO(mode) else (
            "a folder" if stat.S_ISDIR(mode) else "not a regular file")
        raise UntrustedFileError(shown, f"is {kind}: refused")
    return descriptor


def open_regular(path: Path, *, home: Path) -> BinaryIO:
    """``path`` opened for reading in binary, under the same rules as :func:`read_bytes`.

    For files too large to read whole (a snapshot uploaded to object storage): the file
    object is the regular file that was checked, so a link or FIFO swapped in afterwards is
    never read. Raises FileNotFoundError or UntrustedFileError as :func:`read_bytes` does.
    """
    return os.fdopen(_open(path, home), "rb")


def read_bytes(path: Path, *, home: Path, limit: int = DEFAULT_LIMIT) -> bytes:
    """The content of a regular file under ``home``, at most ``limit`` bytes.

    Raises FileNotFoundError when it does not exist (callers decide whether that is
    normal), UntrustedFileError when it is refused, unreadable or larger than ``limit``.
    """
    descriptor = _open(path, home)
    try:
        size = os.fstat(descriptor).st_size
        if size > limit:
            raise UntrustedFileError(shown_path(path, home),
                                     f"is {size:,} bytes, more than the {limit:,} allowed: "
                                     "refused")
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise UntrustedFileError(shown_path(path, home),
                                 f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(descriptor)
    content = b"".join(chunks)
    if len(content) > limit:  # it grew while being read
        raise UntrustedFileError(shown_path(path, home),
                                 f"is more than the {limit:,} bytes allowed: refused")
    return content


def read_text(path: Path, *, home: Path, limit: int = DEFAULT_LIMIT) -> str:
    """:func:`read_bytes` decoded as UTF-8 (undecodable content is refused)."""
    try:
        return read_bytes(path, home=home, limit=limit).decode("utf-8")
    except UnicodeDecodeError:
        raise UntrustedFileError(shown_path(path, home), "is not UTF-8 text") from None


def read_json(path: Path, *, home: Path, limit: int = DEFAULT_LIMIT) -> Any:
    """:func:`read_text` parsed as JSON; a truncated or malformed file is refused, and so
    is one nested deeper than Python's parser can follow (``[[[[...``: a RecursionError
    its callers would not expect from a file)."""
    text = read_text(path, home=home, limit=limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UntrustedFileError(shown_path(path, home),
                                 f"is not valid JSON, truncated or damaged ({exc.msg}: "
                                 f"line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise UntrustedFileError(shown_path(path, home),
                                 "is nested too deeply to be read as JSON") from None


def read_tail(path: Path, *, home: Path, max_bytes: int) -> str:
    """The whole lines within the last ``max_bytes`` of a regular file under ``home`` (a
    log can be any size; when the read starts mid-file, the cut first line is dropped)."""
    descriptor = _open(path, home)
    try:
        start = max(0, os.fstat(descriptor).st_size - max_bytes)
        os.lseek(descriptor, start, os.SEEK_SET)
        chunks: list[bytes] = []
        while (remaining := max_bytes - sum(map(len, chunks))) > 0:
            chunk = os.read(descriptor, remaining)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as exc:
        raise UntrustedFileError(shown_path(path, home),
                                 f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(descriptor)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return text.split("\n", 1)[1] if start > 0 and "\n" in text else text


def is_regular_file(path: Path) -> bool:
    """Whether ``path`` itself (not a link's target) is a regular file."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False
