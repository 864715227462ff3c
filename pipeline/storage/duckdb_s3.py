"""A DuckDB connection that reads ``s3://`` through the httpfs extension, offline.

httpfs comes from the pinned ``duckdb-extension-httpfs`` wheel and is installed from it
the way the loader installs the SQLite scanner: nothing is downloaded at run time, and
``autoinstall_known_extensions`` is switched off so no later query fetches one either.

Credentials reach DuckDB as a temporary secret (``CREATE TEMPORARY SECRET … TYPE s3``)
whose values are bound parameters: no key is ever part of SQL text that could be logged
or echoed by an error, and a temporary secret lives in memory only, never in the database
file (the snapshot) or in DuckDB's secret directory. S3-compatible endpoints are
addressed path-style, with SSL as the endpoint's scheme says.
"""

from __future__ import annotations

import contextlib
import re

import certifi

import duckdb
from pipeline.storage.errors import (
    CredentialsError,
    EndpointUnreachableError,
    ObjectNotFoundError,
    StorageError,
)
from pipeline.storage.redact import redact
from pipeline.storage.s3_client import (
    AwsCredentials,
    S3Settings,
    resolve_credentials,
    settings_from_env,
)

#: the secret's name on the connection (one per connection; replaced when reconfigured)
SECRET_NAME = "carton_caps_s3"
#: seconds DuckDB waits on the store per request, and its retries on I/O errors
HTTP_TIMEOUT_S = 30
HTTP_RETRIES = 2


def load_httpfs(con: duckdb.DuckDBPyConnection) -> None:
    """Load httpfs, installing it from the pinned wheel if this machine lacks it."""
    try:
        con.execute("load httpfs")
    except duckdb.Error:
        import duckdb_extensions

        duckdb_extensions.import_extension("httpfs", con=con)
        con.execute("load httpfs")


def configure_s3(con: duckdb.DuckDBPyConnection, settings: S3Settings | None = None,
                 credentials: AwsCredentials | None = None, *,
                 scope: str | None = None) -> None:
    """Let ``con`` read ``s3://`` URIs with the AWS environment's credentials.

    ``scope`` (an ``s3://bucket/prefix`` URI) limits the secret to that prefix. Raises
    CredentialsError when no credentials are found, StorageError when DuckDB refuses the
    settings (the message never holds a credential).
    """
    settings = settings or settings_from_env()
    credentials = credentials or resolve_credentials(settings)
    options = ["TYPE s3", "KEY_ID ?", "SECRET ?", "REGION ?"]
    values: list[str] = [credentials.access_key_id, credentials.secret_access_key,
                         settings.region]
    if credentials.session_token:
        options.append("SESSION_TOKEN ?")
        values.append(credentials.session_token)
    if settings.endpoint_host:
        options += ["ENDPOINT ?", "URL_STYLE 'path'"]
        values.append(settings.endpoint_host)
    options.append(f"USE_SSL {'true' if settings.use_ssl else 'false'}")
    if scope:
        options.append("SCOPE ?")
        values.append(scope)
    try:
        load_httpfs(con)
        con.execute("set autoinstall_known_extensions = false")
        con.execute(f"set http_timeout = {HTTP_TIMEOUT_S}")
        con.execute(f"set http_retries = {HTTP_RETRIES}")
        if settings.use_ssl:
            con.execute("set enable_server_cert_verification = true")
            con.execute("set ca_cert_file = ?", [certifi.where()])
        con.execute(f"create or replace temporary secret {SECRET_NAME} "
                    f"({', '.join(options)})", values)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(f"DuckDB cannot be set up to read object storage: "
                           f"{redact(first, extra=values)}") from None


def drop_s3(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the connection's S3 secret (before the connection is handed on)."""
    with contextlib.suppress(duckdb.Error):
        con.execute(f"drop temporary secret if exists {SECRET_NAME}")


_HTTP_STATUS = re.compile(r"\(HTTP (?P<status>[0-9]{3})")
_S3_CODE = re.compile(r"^(?P<code>[A-Za-z]+): ", re.MULTILINE)
_UNREACHABLE = ("Could not connect", "Could not establish connection", "Connection refused",
                "Failed to connect", "Timeout was reached", "Couldn't resolve host")


def read_error(exc: duckdb.Error, *, uri: str, settings: S3Settings | None = None) -> StorageError:
    """A DuckDB error raised while reading ``uri`` through httpfs, as one clear line.

    For the loader: ``except duckdb.Error as exc: raise read_error(exc, uri=…) from None``.
    DuckDB's own text names internal URLs and spans several lines; the message here names
    the ``s3://`` URI and what to check, like :mod:`pipeline.storage.errors` does for boto3.
    """
    settings = settings or settings_from_env()
    endpoint = settings.endpoint_shown
    text = str(exc)
    status = _HTTP_STATUS.search(text)
    code = _S3_CODE.search(text)
    if status and status.group("status") == "403":
        shown = code.group("code") if code else "HTTP 403"
        return CredentialsError(
            f"the object store {endpoint} refused the credentials ({shown}) while reading "
            f"{uri} through DuckDB: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE, and that they may use this bucket")
    if status and status.group("status") == "404":
        return ObjectNotFoundError(f"{uri} does not exist (or its bucket does not), read "
                                   "through DuckDB")
    if any(marker in text for marker in _UNREACHABLE):
        return EndpointUnreachableError(
            f"cannot reach the object store {endpoint} while reading {uri} through DuckDB: "
            "check AWS_ENDPOINT_URL and that the store is running")
    first = text.splitlines()[0] if text else type(exc).__name__
    return StorageError(f"DuckDB could not read {uri}: {first[:200]}")
