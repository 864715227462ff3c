"""A landing or archive location: a local folder or ``s3://bucket/prefix``, checked.

Locations come from the command line and the environment (``--landing``,
``--archive``, ``CARTON_CAPS_ARCHIVE``), so they are untrusted input: the text becomes
object keys, SQL string literals (DuckDB's ``read_csv('s3://…')``) and lines in logs and
manifests. A location is therefore parsed once into a :class:`StorageLocation` with a
bucket that follows S3's naming rules and a prefix of plain path segments, and refused
with one line otherwise. Credentials inside the URI (``s3://KEY:SECRET@bucket``) are
refused without quoting the value: they belong in the AWS environment, never in a URI
that is printed and recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from foundation.cli_values import quoted
from pipeline.storage.errors import StorageLocationError
from pipeline.storage.redact import redact

S3_SCHEME = "s3://"
#: S3's own limit for a key is 1024 bytes; a prefix leaves room for the run's files
MAX_PREFIX_CHARS = 512
#: a bucket name as S3 allows it for new buckets (lowercase, digits, dots, hyphens)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
#: one segment of a prefix: letters, digits and ``_ . = + -`` ('=' for Hive-style
#: partitions such as ``as_of=2026-11-01``); no quote, space, backslash or '%', and no
#: ``* ? [ ]``, which DuckDB's read_csv would take for a glob
_SEGMENT = re.compile(r"^[A-Za-z0-9_.=+-]{1,255}$")


@dataclass(frozen=True)
class StorageLocation:
    """Where files live: a local folder (``path``) or a bucket and key prefix.

    ``prefix`` has no leading or trailing slash and may be empty (the bucket's root).
    """

    bucket: str = ""
    prefix: str = ""
    path: Path | None = None

    @property
    def is_s3(self) -> bool:
        return self.path is None

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` below the prefix (``prefix/a/b``)."""
        if not self.is_s3:
            raise StorageLocationError(f"{self} is a local folder, not an s3:// location")
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))

    def child(self, *parts: str) -> StorageLocation:
        """The location of a sub-folder (a run's files below the landing prefix)."""
        for part in parts:
            for segment in part.strip("/").split("/"):
                _check_segment(segment, shown=part)
        if self.path is not None:
            return StorageLocation(path=self.path.joinpath(*parts))
        return StorageLocation(bucket=self.bucket, prefix=self.key(*parts))

    def uri(self, *parts: str) -> str:
        """``s3://bucket/prefix/parts`` (or the local path): safe to print and record."""
        if self.path is not None:
            return str(self.path.joinpath(*parts))
        key = self.key(*parts)
        return f"{S3_SCHEME}{self.bucket}/{key}" if key else f"{S3_SCHEME}{self.bucket}"

    def s3a_uri(self, *parts: str) -> str:
        """The same object as Hadoop's S3A connector (Spark) names it."""
        return "s3a://" + self.uri(*parts).removeprefix(S3_SCHEME)

    def __str__(self) -> str:
        return self.uri()


def _check_segment(segment: str, *, shown: str) -> None:
    if segment in (".", "..") or not _SEGMENT.fullmatch(segment):
        raise StorageLocationError(
            f"{quoted(redact(shown))} is not a usable key prefix: use segments of letters, "
            "digits and _ . = + - separated by single slashes, without '.' or '..'")


def parse_location(text: str, *, what: str, allow_local: bool = True) -> StorageLocation:
    """``text`` as a location; ``what`` names the option in messages (``--archive``).

    Accepts ``s3://bucket`` and ``s3://bucket/prefix[/]``, and, when ``allow_local``, a
    folder path (``~`` expanded, not resolved: the caller decides where it is relative
    to). Raises StorageLocationError with one line otherwise.
    """
    if not text or not text.strip():
        raise StorageLocationError(f"{what} is empty: give a folder or s3://bucket/prefix")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise StorageLocationError(f"{what} {quoted(redact(text))} contains spaces or "
                                   "control characters")
    scheme, sep, rest = text.partition("://")
    if not sep:
        if not allow_local:
            raise StorageLocationError(f"{what} must be an s3://bucket/prefix URI, got "
                                       f"{quoted(redact(text))}")
        return StorageLocation(path=Path(text).expanduser())
    if scheme.lower() != "s3":
        allowed = "an s3:// URI" + (" or a folder" if allow_local else "")
        raise StorageLocationError(f"{what} must be {allowed}; the scheme "
                                   f"{quoted(scheme[:20])} is not supported")
    return _parse_s3(rest, what=what)


def _parse_s3(rest: str, *, what: str) -> StorageLocation:
    bucket, _, prefix = rest.partition("/")
    # anywhere in the URI: a secret may itself hold a '/', which would end the "bucket"
    # before its '@' (neither bucket names nor key segments ever hold an '@')
    if "@" in rest:
        raise StorageLocationError(
            f"{what} holds credentials in the URI: refused (nothing quoted); give them in "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE")
    if any(ch in rest for ch in "?#%\\\"'"):
        raise StorageLocationError(
            f"{what} {quoted(redact(S3_SCHEME + rest))} has a query, fragment, escape or "
            "quote: give a plain s3://bucket/prefix")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IP_ADDRESS.fullmatch(bucket):
        raise StorageLocationError(
            f"{what}: {quoted(bucket)} is not a valid bucket name (3-63 characters: "
            "lowercase letters, digits, dots and hyphens; not an IP address)")
    prefix = prefix.removesuffix("/")
    if len(prefix) > MAX_PREFIX_CHARS:
        raise StorageLocationError(f"{what}: the prefix is longer than {MAX_PREFIX_CHARS} "
                                   "characters")
    if prefix:
        for segment in prefix.split("/"):
            _check_segment(segment, shown=prefix)
    return StorageLocation(bucket=bucket, prefix=prefix)
