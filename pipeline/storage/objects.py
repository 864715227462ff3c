"""Objects in one bucket, written whole with their sha256 and read back verified.

The two promises every other module of this package builds on:

- **No partial object under a final key.** A file is sent with one ``PutObject`` or, when
  large, as a multipart upload that S3 assembles only at ``CompleteMultipartUpload``:
  until then nothing exists under the key, and an upload that fails or is interrupted is
  aborted, so its parts are dropped. The sha256 is computed while the parts are read and
  compared before completing, so a file that changed during the upload is never
  completed either.
- **Nothing read is trusted.** Every object carries its sha256 as user metadata
  (``x-amz-meta-sha256``); a download is streamed into a hidden temporary file, hashed,
  compared with what the caller expected, and only then renamed to its final name.
  Small objects read into memory (``LATEST``, a run's record) are bounded in size.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import botocore.exceptions

from pipeline.storage.errors import (
    BucketNotFoundError,
    ChecksumMismatchError,
    StorageError,
    TruncatedObjectError,
    UploadIncompleteError,
    error_code,
    translated,
)
from pipeline.storage.s3_client import S3Settings, make_client, settings_from_env
from pipeline.storage.uris import StorageLocation

#: user-metadata key of an object's sha256 (sent as ``x-amz-meta-sha256``)
SHA256_METADATA = "sha256"
#: S3 refuses parts smaller than this (except the last one)
MIN_PART_BYTES = 5 * 1024**2
#: S3 allows at most this many parts per upload
MAX_PARTS = 10_000
#: files above this size go up in parts, so a cut connection costs a part, not the file
DEFAULT_MULTIPART_THRESHOLD = 64 * 1024**2
DEFAULT_PART_BYTES = 64 * 1024**2
#: bytes read from a download stream per step
STREAM_CHUNK_BYTES = 1024**2
#: a partial download's name starts with a dot and ends so, so no reader takes it for a file
PARTIAL_SUFFIX = ".partial"

#: ``progress(bytes_sent, total_bytes)`` after each part or object
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ObjectInfo:
    """What the store says about one object (``sha256`` from its metadata, if any)."""

    key: str
    uri: str
    size: int
    etag: str
    sha256: str | None = None


def is_sha256(value: object) -> bool:
    """Whether ``value`` is a sha256 written as 64 lowercase hex digits."""
    return (isinstance(value, str) and len(value) == 64
            and all(ch in "0123456789abcdef" for ch in value))


def short(digest: str) -> str:
    """A digest as messages show it."""
    return digest[:12] + "…"


def hash_stream(handle: BinaryIO) -> tuple[str, int]:
    """sha256 and length of what is left in ``handle``."""
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(STREAM_CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class ObjectStore:
    """One bucket of an S3 API, every failure translated into a StorageError."""

    def __init__(self, client: Any, bucket: str, *, endpoint_shown: str,
                 multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
                 part_bytes: int = DEFAULT_PART_BYTES) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES} (S3's minimum)")
        self.client = client
        self.bucket = bucket
        self.endpoint_shown = endpoint_shown
        self.multipart_threshold = multipart_threshold
        self.part_bytes = part_bytes

    @classmethod
    def for_location(cls, location: StorageLocation, settings: S3Settings | None = None,
                     **options: int) -> ObjectStore:
        """The store of an ``s3://`` location, with a client from the AWS environment."""
        settings = settings or settings_from_env()
        return cls(make_client(settings), location.bucket,
                   endpoint_shown=settings.endpoint_shown, **options)

    # ------------------------------------------------------------------ helpers

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}" if key else f"s3://{self.bucket}"

    def _fail(self, exc: Exception, action: str, key: str) -> StorageError:
        return translated(exc, action=action, uri=self.uri(key), endpoint=self.endpoint_shown)

    @contextlib.contextmanager
    def _translating(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._fail(exc, action, key) from None

    # ------------------------------------------------------------------ reading

    def check_bucket(self) -> None:
        """Fail fast, before any work, when the bucket is missing or refused."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise BucketNotFoundError(f"bucket {self.bucket} does not exist at "
                                          f"{self.endpoint_shown}") from None
            if error_code(exc) == "403":
                self._explain_refusal()
            raise self._fail(exc, "opening bucket", "") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, "opening bucket", "") from None

    def _explain_refusal(self) -> None:
        """A HEAD refused with 403 carries no error code; a one-key listing says whether
        the key is unknown, the signature wrong or access denied (raises that)."""
        with self._translating("opening bucket", ""):
            self.client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)

    def head(self, key: str) -> ObjectInfo:
        """The object's size, ETag and sha256 metadata; ObjectNotFoundError if absent."""
        with self._translating("reading", key):
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        return self._info(key, answer)

    def _info(self, key: str, answer: dict[str, Any]) -> ObjectInfo:
        metadata = {k.lower(): v for k, v in (answer.get("Metadata") or {}).items()}
        digest = metadata.get(SHA256_METADATA)
        return ObjectInfo(key=key, uri=self.uri(key), size=int(answer["ContentLength"]),
                          etag=str(answer.get("ETag", "")).strip('"'),
                          sha256=digest if is_sha256(digest) else None)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` (a listing carries no metadata: ``sha256`` is
        None; :meth:`head` gives it)."""
        paginator = self.client.get_paginator("list_objects_v2")
        with self._translating("listing", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    yield ObjectInfo(key=item["Key"], uri=self.uri(item["Key"]),
                                     size=int(item["Size"]),
                                     etag=str(item.get("ETag", "")).strip('"'))

    def list_folders(self, prefix: str) -> list[str]:
        """The names of the "folders" directly under ``prefix`` (which ends with ``/``)."""
        names = []
        paginator = self.client.get_paginator("list_objects_v2")
        with self._translating("listing", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", ()):
                    names.append(common["Prefix"][len(prefix):].rstrip("/"))
        return names

    def get_bytes(self, key: str, *, limit: int) -> tuple[bytes, ObjectInfo]:
        """A small object's content, refused when larger than ``limit`` bytes, checked
        against its sha256 metadata when it has one."""
        with self._translating("reading", key):
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            info = self._info(key, answer)
            if info.size > limit:
                answer["Body"].close()
                raise StorageError(f"{info.uri} is {info.size:,} bytes, more than the "
                                   f"{limit:,} allowed: refused")
            body = answer["Body"].read(limit + 1)
        if len(body) != info.size:
            raise TruncatedObjectError(f"{info.uri} was cut short ({len(body):,} of "
                                       f"{info.size:,} bytes): refused")
        actual = hashlib.sha256(body).hexdigest()
        if info.sha256 is not None and actual != info.sha256:
            raise ChecksumMismatchError(
                f"{info.uri} has sha256 {short(actual)} but was written with "
                f"{short(info.sha256)}: altered or damaged, refused")
        return body, info

    def read_head(self, key: str, size: int, *, etag: str | None = None) -> bytes:
        """The first ``size`` bytes of an object (fewer when it is shorter), in one ranged
        GET: a CSV's header is checked without reading the file. With ``etag`` the bytes
        must be those of that version of the object (a replaced object is refused)."""
        condition = {"IfMatch": f'"{etag}"'} if etag else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key,
                                            Range=f"bytes=0-{max(size, 1) - 1}", **condition)
            return bytes(answer["Body"].read(size))
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "InvalidRange":
                return b""  # an empty object has no first byte to range over
            if error_code(exc) in ("PreconditionFailed", "412"):
                raise StorageError(f"{self.uri(key)} was replaced while it was being read: "
                                   "try again") from None
            raise self._fail(exc, "reading", key) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, "reading", key) from None

    def download(self, key: str, dest: Path, *, expected_sha256: str | None,
                 expected_size: int | None = None, mode: int = 0o644) -> ObjectInfo:
        """Stream an object into ``dest`` only if its bytes are the ones expected.

        The bytes must hash to ``expected_sha256`` (what the archive recorded) and to the
        object's own sha256 metadata; with neither (an export a user placed, read by a
        replay) they are hashed and the digest returned for the manifest. The object is
        written to a hidden ``.partial`` file beside ``dest`` and renamed once verified; on
        any failure (a mismatch, a cut stream, an interrupt) the partial file is removed, so
        ``dest`` is either as before or complete (with permissions ``mode``; the partial
        file is readable by its owner only). Returns the object's info with the sha256 of
        the bytes written.
        """
        info = self.head(key)
        if expected_sha256 is not None and info.sha256 not in (None, expected_sha256):
            raise ChecksumMismatchError(
                f"{info.uri} carries sha256 {short(info.sha256 or '')} but the archive "
                f"recorded {short(expected_sha256)}: altered or replaced, refused")
        if expected_size is not None and info.size != expected_size:
            raise TruncatedObjectError(
                f"{info.uri} is {info.size:,} bytes but {expected_size:,} were recorded: "
                "truncated or replaced, refused")
        expected = expected_sha256 or info.sha256
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            dir=dest.parent, prefix=f".{dest.name}.", suffix=PARTIAL_SUFFIX, delete=False)
        partial = Path(handle.name)
        try:
            with handle:
                digest, size = self._stream_into(info, handle)
                handle.flush()
                os.fsync(handle.fileno())
            if size != info.size:
                raise TruncatedObjectError(f"{info.uri} was cut short ({size:,} of "
                                           f"{info.size:,} bytes): refused")
            if expected is not None and digest != expected:
                raise ChecksumMismatchError(
                    f"{info.uri} has sha256 {short(digest)} but {short(expected)} was "
                    "recorded when it was written: altered or damaged, refused")
            partial.chmod(mode)
            partial.replace(dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return ObjectInfo(key=info.key, uri=info.uri, size=size, etag=info.etag,
                          sha256=digest)

    def _stream_into(self, info: ObjectInfo, handle: BinaryIO) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        with self._translating("downloading", info.key):
            try:
                # If-Match: the bytes streamed are those of the object just checked
                answer = self.client.get_object(Bucket=self.bucket, Key=info.key,
                                                IfMatch=f'"{info.etag}"')
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) in ("PreconditionFailed", "412"):
                    raise StorageError(f"{info.uri} was replaced while it was being read: "
                                       "try again") from None
                raise
            body = answer["Body"]
            while chunk := body.read(STREAM_CHUNK_BYTES):
                digest.update(chunk)
                handle.write(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def hash_object(self, key: str, *, etag: str | None = None) -> tuple[str, int]:
        """sha256 and size of an object's bytes, streamed (for objects written without
        sha256 metadata, such as exports a user placed in the landing prefix, and to check
        those written with it). With ``etag`` the bytes must be that version's."""
        digest, size = hashlib.sha256(), 0
        condition = {"IfMatch": f'"{etag}"'} if etag else {}
        with self._translating("reading", key):
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=key, **condition)["Body"]
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) in ("PreconditionFailed", "412"):
                    raise StorageError(f"{self.uri(key)} was replaced while it was being "
                                       "read: the load cannot be trusted, rerun") from None
                raise
            while chunk := body.read(STREAM_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    # ------------------------------------------------------------------ writing

    def put_bytes(self, key: str, data: bytes, *, if_match: str | None = None,
                  if_absent: bool = False) -> ObjectInfo:
        """One small object in one request, with its sha256.

        ``if_match`` (an ETag) or ``if_absent`` make the write conditional, so two writers
        of ``LATEST`` cannot overwrite each other's decision unseen; a lost race raises
        :class:`ConditionFailed`.
        """
        digest = hashlib.sha256(data).hexdigest()
        condition = ({"IfMatch": f'"{if_match}"'} if if_match
                     else {"IfNoneMatch": "*"} if if_absent else {})
        try:
            answer = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, Metadata={SHA256_METADATA: digest},
                ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
                **condition)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ConditionFailed(self.uri(key)) from None
            raise self._fail(exc, "uploading", key) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, "uploading", key) from None
        return ObjectInfo(key=key, uri=self.uri(key), size=len(data),
                          etag=str(answer.get("ETag", "")).strip('"'), sha256=digest)

    def put_file(self, handle: BinaryIO, key: str, *, size: int, sha256: str,
                 progress: Progress | None = None) -> ObjectInfo:
        """Upload ``size`` bytes of an open file whose content hashes to ``sha256``.

        Large files go up in parts; the upload completes only if every byte was sent and
        the bytes sent hash to ``sha256``. Otherwise it is aborted and nothing exists
        under ``key``: UploadIncompleteError (or the interrupt itself, after the abort).
        """
        if size <= self.multipart_threshold:
            data = handle.read(size + 1)
            self._check_sent(key, hashlib.sha256(data).hexdigest(), len(data), sha256, size)
            info = self.put_bytes(key, data)
            if progress:
                progress(size, size)
            return info
        return self._put_multipart(handle, key, size=size, sha256=sha256, progress=progress)

    def _check_sent(self, key: str, digest: str, sent: int, sha256: str, size: int) -> None:
        if sent != size or digest != sha256:
            raise UploadIncompleteError(
                f"{self.uri(key)} not uploaded: the bytes read ({sent:,}, sha256 "
                f"{short(digest)}) are not the {size:,} bytes with sha256 {short(sha256)} "
                "expected (the file changed or is damaged); nothing was left under its key")

    def _put_multipart(self, handle: BinaryIO, key: str, *, size: int, sha256: str,
                       progress: Progress | None) -> ObjectInfo:
        part_bytes = max(self.part_bytes, math.ceil(size / MAX_PARTS))
        with self._translating("starting the upload of", key):
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata={SHA256_METADATA: sha256})["UploadId"]
        try:
            digest, sent, parts = hashlib.sha256(), 0, []
            while chunk := handle.read(min(part_bytes, size + 1 - sent)):
                digest.update(chunk)
                sent += len(chunk)
                number = len(parts) + 1
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                    Body=chunk,
                    ContentMD5=base64.b64encode(hashlib.md5(chunk).digest()).decode())
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                if progress:
                    progress(sent, size)
            self._check_sent(key, digest.hexdigest(), sent, sha256, size)
            answer = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": parts})
        except BaseException as exc:
            self._abort(key, upload_id)
            if isinstance(exc, StorageError):
                raise
            if isinstance(exc, (botocore.exceptions.BotoCoreError,
                                botocore.exceptions.ClientError)):
                cause = self._fail(exc, "uploading", key)
                raise UploadIncompleteError(f"{cause}; the partial upload was aborted and "
                                            "nothing was left under its key") from None
            if isinstance(exc, Exception):
                raise UploadIncompleteError(
                    f"{self.uri(key)} not uploaded ({type(exc).__name__}: "
                    f"{str(exc)[:160]}); the partial upload was aborted and nothing was "
                    "left under its key") from None
            raise  # an interrupt: aborted, and the run records it as such
        return ObjectInfo(key=key, uri=self.uri(key), size=size,
                          etag=str(answer.get("ETag", "")).strip('"'), sha256=sha256)

    def abort_unfinished(self, prefix: str) -> int:
        """Abort the multipart uploads under ``prefix`` that a killed process left (their
        parts cost storage and are never an object); returns how many."""
        aborted = 0
        with self._translating("listing unfinished uploads under", prefix):
            answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        for upload in answer.get("Uploads", ()):
            self._abort(upload["Key"], upload["UploadId"])
            aborted += 1
        return aborted

    def _abort(self, key: str, upload_id: str) -> None:
        """Drop an unfinished upload's parts (best effort: if the store is gone, S3's
        lifecycle rule for incomplete uploads is the backstop)."""
        with contextlib.suppress(botocore.exceptions.BotoCoreError,
                                 botocore.exceptions.ClientError):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key,
                                               UploadId=upload_id)


class ConditionFailed(StorageError):
    """A conditional write lost a race: another writer changed the object first."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"{uri} was changed by another writer at the same time")
