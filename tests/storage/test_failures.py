"""Each failure of the store is one clear line, fast, and loses nothing."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from pipeline.storage.archive import Archive
from pipeline.storage.errors import (
    BucketNotFoundError,
    CredentialsError,
    EndpointUnreachableError,
)
from tests.storage.conftest import SECRET_ACCESS_KEY, publish_fake_run

STARTED = "2026-12-01T00:00:00.000+00:00"


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def enforced_auth(aws_env: str) -> Iterator[tuple[str, str]]:
    """The local server checks signatures from now on; yields a real access key id and
    its secret, created while it still allowed anonymous calls."""
    requests.post(f"{aws_env}/moto-api/reset-auth", data=b"2", timeout=5)
    try:
        iam = boto3.client("iam", endpoint_url=aws_env, region_name="us-east-1")
        user = f"loader-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        requests.post(f"{aws_env}/moto-api/reset-auth", data=b"inf", timeout=5)


def test_a_missing_bucket_is_named(aws_env: str, tmp_path: Path) -> None:
    archive = Archive.connect("s3://no-such-bucket/carton_caps")
    run = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=STARTED)
    with pytest.raises(BucketNotFoundError) as caught:
        archive.upload_run(run.paths)
    assert str(caught.value) == f"bucket no-such-bucket does not exist at {aws_env}"


def test_an_unknown_access_key_is_refused_as_credentials(
        bucket: str, enforced_auth: tuple[str, str], tmp_path: Path,
        aws_env: str) -> None:
    archive = Archive.connect(f"s3://{bucket}/carton_caps")   # the environment's unknown key
    run = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=STARTED)
    with pytest.raises(CredentialsError) as caught:
        archive.upload_run(run.paths)
    assert str(caught.value) == (
        f"the object store {aws_env} refused the credentials (InvalidAccessKeyId) while "
        f"opening bucket s3://{bucket}: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or AWS_PROFILE")


def test_a_wrong_secret_is_refused_without_showing_it(
        bucket: str, enforced_auth: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
        aws_env: str) -> None:
    key_id, _ = enforced_auth
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    with pytest.raises(CredentialsError) as caught:
        Archive.connect(f"s3://{bucket}/carton_caps").latest()
    assert str(caught.value) == (
        f"the object store {aws_env} refused the credentials (SignatureDoesNotMatch) while "
        f"reading s3://{bucket}/carton_caps/LATEST: check AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    assert key_id not in str(caught.value) and SECRET_ACCESS_KEY not in str(caught.value)


@pytest.mark.timeout(30)  # the bound, not a measurement: minutes of retries would fail it
def test_an_unreachable_endpoint_fails_fast_with_one_line(
        aws_env: str, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    with pytest.raises(EndpointUnreachableError) as caught:
        Archive.connect("s3://carton-caps/carton_caps").latest()
    assert str(caught.value) == (
        f"cannot reach the object store {endpoint} (connection failed) while reading "
        "s3://carton-caps/carton_caps/LATEST: check AWS_ENDPOINT_URL and that the store is "
        "running")


def test_no_credentials_at_all_is_one_line(aws_env: str, monkeypatch: pytest.MonkeyPatch,
                                           bucket: str) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError) as caught:
        Archive.connect(f"s3://{bucket}/carton_caps").latest()
    assert str(caught.value) == (
        f"no usable AWS credentials while reading s3://{bucket}/carton_caps/LATEST: set "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")


def test_a_missing_profile_is_one_line(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    with pytest.raises(CredentialsError) as caught:
        Archive.connect("s3://carton-caps/x")
    assert str(caught.value) == ("the AWS profile named by AWS_PROFILE does not exist in the "
                                 "AWS config files")


def test_failures_name_no_credential(s3: Any) -> None:
    """The messages above are built from URIs and codes only; a boto3 message that quoted
    a credential would still be masked (pipeline.storage.redact)."""
    from pipeline.storage.errors import StorageError

    assert SECRET_ACCESS_KEY not in str(StorageError(f"x {SECRET_ACCESS_KEY}"))
