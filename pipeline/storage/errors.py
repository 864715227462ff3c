"""What can go wrong with object storage, each as one line an operator can act on.

boto3 reports the same trouble in many shapes (``EndpointConnectionError``, a
``ClientError`` with one of a dozen codes, a stream cut short), with messages that name
internal URLs and retries. The run records a failed step's error as one line in its
manifest and prints it, so every failure of this package is one of the classes below,
whose message says what failed, where (a URI without credentials) and what to check.
Messages pass through :func:`~pipeline.storage.redact.redact`, and exceptions are raised
``from None``: a traceback logged by the run never carries boto3's own text.
"""

from __future__ import annotations

import botocore.exceptions

from pipeline.storage.redact import redact


class StorageError(RuntimeError):
    """An object-storage operation failed; the message says what, where and why."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class StorageLocationError(StorageError, ValueError):
    """A landing or archive location that cannot be used (a bad argument: exit 2)."""


class EndpointUnreachableError(StorageError):
    """The object store did not answer (closed port, unknown host, timeout)."""


class CredentialsError(StorageError):
    """No credentials, or credentials the store refuses."""


class BucketNotFoundError(StorageError):
    """The bucket named by the location does not exist."""


class ObjectNotFoundError(StorageError):
    """An object the operation needs is not in the bucket."""


class IntegrityError(StorageError):
    """An object is not the one that was written: it is refused, never used."""


class ChecksumMismatchError(IntegrityError):
    """An object's sha256 differs from the one recorded when it was written."""


class TruncatedObjectError(IntegrityError):
    """An object is shorter (or longer) than recorded, or its transfer was cut short."""


class UploadIncompleteError(StorageError):
    """An upload stopped before it completed; nothing was left under its final key."""


class ArchiveRecordError(StorageError):
    """An archive object the pipeline reads (``LATEST``, a run's record) is not one it
    wrote: corrupt, planted or of the wrong shape."""


#: error codes meaning the store refused who we are (or what we may do)
_CREDENTIAL_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "AuthorizationHeaderMalformed", "InvalidClientTokenId",
    "UnrecognizedClientException", "InvalidSecurity", "MissingSecurityHeader",
})
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchUpload"})


def error_code(exc: botocore.exceptions.ClientError) -> str:
    """The S3 error code of a ``ClientError`` (``NoSuchBucket``, ``403``, …)."""
    return str(exc.response.get("Error", {}).get("Code") or "")


def _status(exc: botocore.exceptions.ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def translated(exc: Exception, *, action: str, uri: str, endpoint: str) -> StorageError:
    """``exc`` (raised by boto3 while doing ``action`` on ``uri``) as a StorageError.

    ``action`` reads as a gerund phrase (``uploading``), ``endpoint`` names the store as
    the operator configured it (``AWS`` or ``http://127.0.0.1:9000``).
    """
    if isinstance(exc, StorageError):
        return exc
    where = f"while {action} {uri}"
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError,
                        botocore.exceptions.ConnectTimeoutError,
                        botocore.exceptions.ConnectionClosedError,
                        botocore.exceptions.ReadTimeoutError,
                        botocore.exceptions.ProxyConnectionError)):
        kind = ("timed out" if isinstance(exc, (botocore.exceptions.ConnectTimeoutError,
                                                botocore.exceptions.ReadTimeoutError))
                else "connection failed")
        return EndpointUnreachableError(
            f"cannot reach the object store {endpoint} ({kind}) {where}: check "
            "AWS_ENDPOINT_URL and that the store is running")
    if isinstance(exc, (botocore.exceptions.NoCredentialsError,
                        botocore.exceptions.PartialCredentialsError)):
        return CredentialsError(
            f"no usable AWS credentials {where}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return CredentialsError(f"the AWS profile named by AWS_PROFILE does not exist {where}")
    if isinstance(exc, (botocore.exceptions.IncompleteReadError,
                        botocore.exceptions.ResponseStreamingError)):
        return TruncatedObjectError(f"the transfer was cut short {where}: {uri} refused")
    if isinstance(exc, botocore.exceptions.ClientError):
        return _client_error(exc, where=where, uri=uri, endpoint=endpoint)
    name = type(exc).__name__
    return StorageError(f"object storage failed {where} ({name}: {str(exc)[:200]})")


def _client_error(exc: botocore.exceptions.ClientError, *, where: str, uri: str,
                  endpoint: str) -> StorageError:
    code, status = error_code(exc), _status(exc)
    if code == "NoSuchBucket":
        bucket = uri.removeprefix("s3://").split("/", 1)[0]
        return BucketNotFoundError(f"bucket {bucket} does not exist at {endpoint} {where}")
    if code in _CREDENTIAL_CODES:
        return CredentialsError(
            f"the object store {endpoint} refused the credentials ({code}) {where}: check "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
        shown = code if code and not code.isdigit() else "HTTP 403"
        return CredentialsError(
            f"the object store {endpoint} refused access ({shown}) {where}: check "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, and that they may "
            "use this bucket")
    if code in _NOT_FOUND_CODES or status == 404:
        return ObjectNotFoundError(f"{uri} does not exist")
    return StorageError(f"the object store {endpoint} answered {code or 'an error'} "
                        f"(HTTP {status}) {where}")
