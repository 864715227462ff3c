"""A boto3 S3 client configured from the standard AWS environment, failing fast.

Credentials and endpoints come from where every AWS tool reads them, so an operator sets
them once: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or ``AWS_PROFILE`` and the
shared config files), ``AWS_REGION`` and, for an S3-compatible store (MinIO, Ceph,
moto), ``AWS_ENDPOINT_URL``. Such stores are addressed path-style
(``http://host:9000/bucket/key``): their buckets rarely have DNS names.

boto3's defaults suit a long-lived service (60 s timeouts, retries with back-off), not a
run that should say within seconds that the endpoint is down. The client here times out
connecting after a few seconds and retries a bounded number of times.

boto3 and botocore's configuration (about 0.2 s to import) are imported when a client is
made: every run imports this module, through the archive step, before dbt's worker
starts, and most runs archive nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import botocore.exceptions

from pipeline.storage.errors import CredentialsError, StorageLocationError
from pipeline.storage.redact import redact, register_secret

if TYPE_CHECKING:
    import boto3.session
    import botocore.config

#: the region used when neither the environment nor the profile names one (an
#: S3-compatible store accepts any; AWS itself routes us-east-1 requests globally)
DEFAULT_REGION = "us-east-1"
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 30.0
#: attempts per request, the first included (boto3's "standard" retry mode)
MAX_ATTEMPTS = 3
#: the AWS SDK's loggers: at DEBUG they write signed request headers (which name the
#: access key id) and request bodies (the data itself) into whatever log listens
SDK_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


@dataclass(frozen=True)
class S3Settings:
    """Where the store is and how patiently to talk to it (no credentials in here)."""

    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    profile: str | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    read_timeout_s: float = READ_TIMEOUT_S
    max_attempts: int = MAX_ATTEMPTS

    @property
    def path_style(self) -> bool:
        """S3-compatible stores (a custom endpoint) are addressed path-style."""
        return self.endpoint_url is not None

    @property
    def endpoint_shown(self) -> str:
        """How messages name the store."""
        return self.endpoint_url or f"AWS S3 ({self.region})"

    @property
    def use_ssl(self) -> bool:
        return self.endpoint_url is None or self.endpoint_url.startswith("https://")

    @property
    def endpoint_host(self) -> str | None:
        """``host:port`` of a custom endpoint, as DuckDB's ``ENDPOINT`` option takes it."""
        if self.endpoint_url is None:
            return None
        parts = urlsplit(self.endpoint_url)
        return parts.netloc + parts.path.rstrip("/")


@dataclass(frozen=True)
class AwsCredentials:
    """Credentials resolved for a consumer that cannot use boto3's chain (DuckDB).

    ``repr`` never shows the secret or the token.
    """

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def _endpoint(value: str) -> str:
    """An endpoint URL from the environment, checked: http(s)://host[:port][/path]."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StorageLocationError(f"AWS_ENDPOINT_URL {redact(value)[:60]!r} is not an "
                                   "http:// or https:// URL")
    if parts.username or parts.password or "@" in parts.netloc:
        raise StorageLocationError("AWS_ENDPOINT_URL holds credentials: refused (nothing "
                                   "quoted); give them in AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY")
    if parts.query or parts.fragment:
        raise StorageLocationError("AWS_ENDPOINT_URL has a query or fragment: give "
                                   "scheme://host[:port]")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise StorageLocationError("AWS_ENDPOINT_URL has an invalid port") from None
    return value.rstrip("/")


def settings_from_env(environ: Mapping[str, str] | None = None) -> S3Settings:
    """The settings the standard AWS variables give (``AWS_ENDPOINT_URL_S3`` first, as
    boto3 reads it, then ``AWS_ENDPOINT_URL``; ``AWS_REGION``, then
    ``AWS_DEFAULT_REGION``)."""
    env = os.environ if environ is None else environ
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
    return S3Settings(
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        endpoint_url=_endpoint(endpoint) if endpoint else None,
        profile=env.get("AWS_PROFILE") or None,
    )


def _session(settings: S3Settings) -> boto3.session.Session:
    import boto3.session

    try:
        return boto3.session.Session(profile_name=settings.profile,
                                     region_name=settings.region)
    except botocore.exceptions.ProfileNotFound:
        raise CredentialsError("the AWS profile named by AWS_PROFILE does not exist in "
                               "the AWS config files") from None


def client_config(settings: S3Settings) -> botocore.config.Config:
    """Short timeouts, bounded retries, path-style for custom endpoints.

    Checksums are computed only where S3 requires them: the integrity of every object is
    its sha256 metadata (checked on read), and several S3-compatible stores reject the
    CRC headers newer boto3 versions send by default.
    """
    import botocore.config

    return botocore.config.Config(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        s3={"addressing_style": "path" if settings.path_style else "auto"},
        signature_version="s3v4",
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def quiet_sdk_loggers() -> None:
    """Keep the AWS SDK's DEBUG lines out of the run's log, which records DEBUG from
    every logger: warnings and errors still pass. A level set explicitly is kept."""
    for name in SDK_LOGGERS:
        sdk_logger = logging.getLogger(name)
        if sdk_logger.level == logging.NOTSET:
            sdk_logger.setLevel(logging.WARNING)


def make_client(settings: S3Settings | None = None) -> Any:
    """An S3 client for ``settings`` (default: the environment's)."""
    quiet_sdk_loggers()
    settings = settings or settings_from_env()
    session = _session(settings)
    credentials = session.get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        register_secret(frozen.access_key, frozen.secret_key, frozen.token)
    return session.client("s3", endpoint_url=settings.endpoint_url,
                          config=client_config(settings))


def resolve_credentials(settings: S3Settings | None = None) -> AwsCredentials:
    """The credentials boto3's chain finds (environment, profile, instance role).

    Raises CredentialsError when there are none. The values are registered with
    :func:`~pipeline.storage.redact.register_secret`, so no later message shows them.
    """
    quiet_sdk_loggers()
    settings = settings or settings_from_env()
    credentials = _session(settings).get_credentials()
    if credentials is None:
        raise CredentialsError("no AWS credentials found: set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    frozen = credentials.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        raise CredentialsError("incomplete AWS credentials: both AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY are needed")
    register_secret(frozen.access_key, frozen.secret_key, frozen.token)
    return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token or None)
