"""The secret that keys staging's PII hashes (HMAC), one per home.

An unkeyed SHA-256 of an email can be reversed by hashing a list of addresses; an HMAC
under a secret cannot, as long as the secret is kept apart from the data. The secret
therefore lives outside the repository and the snapshots: ``CARTON_CAPS_PII_KEY`` when
the operator provides one, else ``<home>/.secrets/pii_hmac.key`` (git-ignored, folder
0700, file 0600), created on the home's first run and reused by every later run, so
hashes join across runs and run comparisons hold. dbt receives it in its subprocess
environment only (pipeline/dbt_runner.py); it is never logged or stored in a manifest.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

KEY_ENV = "CARTON_CAPS_PII_KEY"
KEY_FILE = Path(".secrets") / "pii_hmac.key"


class PiiKeyError(RuntimeError):
    """The key file exists but is unsafe or unreadable."""


def key_path(home: Path) -> Path:
    return home / KEY_FILE


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PiiKeyError(f"{path} is readable by others (mode {mode:o}); "
                          f"run `chmod 600 {path}`")
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise PiiKeyError(f"{path} is empty; delete it to create a new key")
    return key


def _create(path: Path) -> None:
    """Write a fresh key beside ``path`` and link it into place; a concurrent run's key wins."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # a concurrent first run linked first
            os.link(temp, path)  # atomic, and never replaces an existing key
    finally:
        temp.unlink(missing_ok=True)


def pii_key(home: Path) -> str:
    """The home's PII key: the environment's if set, else the home's key file (made once)."""
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return from_env
    path = key_path(home)
    if not path.exists():
        _create(path)
    return _read(path)
