"""The secret that keys the PII hashes (HMAC), one per home, and how a run records it.

An unkeyed SHA-256 of an email can be reversed by hashing a list of addresses; an HMAC
under a secret cannot, as long as the secret is kept apart from the data. The secret
therefore lives outside the repository and the snapshots: ``CARTON_CAPS_PII_KEY`` when
the operator provides one, else ``<home>/.secrets/pii_hmac.key`` (git-ignored, folder
0700, file 0600), created on the home's first run and reused by every later run, so
hashes join across runs and run comparisons hold. Only the loader receives it (the
hashes are computed as rows land, foundation/pii.py); it is never logged, passed to dbt
or stored in a manifest.

What a run does record is the key's *fingerprint* (:func:`foundation.pii.fingerprint`),
where it came from and whether this run created it (the manifest's ``pii_key``
section, copied into the snapshot with the manifest). A key that differs from the
previous successful run's (a deleted key file, another ``CARTON_CAPS_PII_KEY``) silently
re-keys every hash, so that no hashed email or phone joins with earlier runs: the run
then carries a warning naming both fingerprints (:func:`key_change`), which Home,
``runs.py diff`` and Run Comparison show.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from foundation import pii, untrusted_files
from foundation.paths import SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX, HomePaths
from foundation.pii import KEY_ENV
from foundation.run_id import RUN_ID_PATTERN

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "pii_hmac.key"
_FINGERPRINT = re.compile(rf"[0-9a-f]{{{pii.FINGERPRINT_HEX}}}")


class PiiKeyError(RuntimeError):
    """The key file exists but is unsafe or unreadable."""


@dataclass(frozen=True)
class PiiKey:
    """The home's key for one run, and what the run records about it (never the key)."""

    secret: str = field(repr=False)
    source: Literal["env", "file"]
    #: whether this call created the home's key file
    created: bool

    @property
    def fingerprint(self) -> str:
        return pii.fingerprint(self.secret)

    def record(self) -> dict[str, Any]:
        """The manifest's ``pii_key`` section."""
        return {"fingerprint": self.fingerprint, "source": self.source,
                "created": self.created}


#: a key is 64 hex digits; a larger file is not a key this project wrote
KEY_FILE_LIMIT = 4096


def key_path(home: Path) -> Path:
    """In the home's secrets folder, which the sweep of a killed run also clears."""
    return HomePaths(home).secrets_dir / KEY_FILE_NAME


def _read(path: Path, home: Path) -> str:
    """The key file, read as untrusted input: a small regular file of the home, owner-only.

    A symbolic link (to a key somewhere else, or a file that is not a key), a FIFO or a
    file others can read is refused, with what to do, rather than used.
    """
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if not path.is_symlink() and mode & 0o077:
            raise PiiKeyError(f"{path} is readable by others (mode {mode:o}); "
                              f"run `chmod 600 {path}`")
        key = untrusted_files.read_text(path, home=home, limit=KEY_FILE_LIMIT).strip()
    except untrusted_files.UntrustedFileError as exc:
        raise PiiKeyError(f"the PII key file {exc}; delete it to create a new key, or "
                          f"set {KEY_ENV}") from None
    if not key:
        raise PiiKeyError(f"{path} is empty; delete it to create a new key")
    return key


def _create(path: Path) -> bool:
    """Write a fresh key beside ``path`` and link it into place; a concurrent run's key
    wins. Whether this call's key is the one in place."""
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
            return True
        return False
    finally:
        temp.unlink(missing_ok=True)


def _has_published_runs(home: Path) -> bool:
    return any(HomePaths(home).duckdb_dir.glob(f"{SNAPSHOT_PREFIX}*{SNAPSHOT_SUFFIX}"))


def load_key(home: Path) -> PiiKey:
    """The home's PII key: the environment's if set, else the home's key file (made once)."""
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return PiiKey(from_env, "env", created=False)
    path = key_path(home)
    created = False
    if not path.exists():
        created = _create(path)
        if created and _has_published_runs(home):
            logger.warning("  warning: created a new PII key %s in a home that already has "
                           "published runs: emails and phones hashed from now on will not "
                           "join with theirs (restore the old key file to keep them joining)",
                           path)
    return PiiKey(_read(path, home), "file", created=created)


def pii_key(home: Path) -> str:
    """The home's PII key itself (:func:`load_key`)."""
    return load_key(home).secret


def recorded_fingerprint(document: dict[str, Any]) -> str | None:
    """The key fingerprint a run's manifest recorded; None if it recorded none or a
    malformed one (a manifest is read as untrusted input)."""
    return _fingerprint_or_none(_section(document).get("fingerprint"))


def run_record(key: PiiKey, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's ``pii_key`` section: the key's fingerprint, source and creation, and
    the previous successful run's fingerprint it is compared with (``previous``: that
    run's manifest, None for a home's first run)."""
    return {**key.record(),
            "previous_run_id": previous.get("run_id") if previous else None,
            "previous_fingerprint": recorded_fingerprint(previous) if previous else None}


def change_warning(document: dict[str, Any]) -> str | None:
    """The warning a run's manifest implies when its key differs from the previous
    successful run's; None when it does not or nothing can be said."""
    section = _section(document)
    previous_run = section.get("previous_run_id")
    if not isinstance(previous_run, str) or not RUN_ID_PATTERN.fullmatch(previous_run):
        return None
    return key_change(previous_run, _fingerprint_or_none(section.get("previous_fingerprint")),
                      recorded_fingerprint(document))


def key_change(before_run: str, before: str | None, after: str | None) -> str | None:
    """The one wording of a key change after run ``before_run``; None when both
    fingerprints are known and equal, or either is unknown (nothing can be said)."""
    if before is None or after is None or before == after:
        return None
    return (f"PII key changed since run {before_run} (fingerprint {before} → {after}): "
            "hashed emails and phones no longer join with earlier runs")


def _section(document: dict[str, Any]) -> dict[str, Any]:
    section = document.get("pii_key") if isinstance(document, dict) else None
    return section if isinstance(section, dict) else {}


def _fingerprint_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and _FINGERPRINT.fullmatch(value) else None
