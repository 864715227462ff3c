"""A real S3 API on 127.0.0.1 (moto's server), a fresh bucket per test, a fake AWS setup.

The server listens on the loopback address only (moto's default is every interface) and
on a port the kernel picks. Every test sets the AWS variables through ``monkeypatch`` and
points the AWS config files at nothing, so no test reads the real ``~/.aws`` or reaches
anything but 127.0.0.1 (the instance-metadata lookup is switched off too).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from foundation.paths import RunPaths
from pipeline.records import manifest as manifest_io
from pipeline.records.run_manifest import RunParams, SnapshotRecord
from pipeline.storage.archive import Archive
from pipeline.storage.objects import MIN_PART_BYTES
from pipeline.storage.redact import SECRET_ENVIRONMENT

#: credentials the tests use: distinctive, so a scan of written files finds any leak
ACCESS_KEY_ID = "AKIACARTONCAPSTEST01"
SECRET_ACCESS_KEY = "CartonCapsTestSecretKey/0123456789abcdefXY"
#: the part size the tests upload with: S3's minimum, so a 11 MiB file has three parts
PART_BYTES = MIN_PART_BYTES


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
            moto_endpoint: str) -> str:
    """The standard AWS variables pointing at the local server; returns the endpoint."""
    return point_aws_at(monkeypatch, tmp_path_factory, moto_endpoint)


@pytest.fixture(scope="module")
def module_aws_env(tmp_path_factory: pytest.TempPathFactory,
                   moto_endpoint: str) -> Iterator[str]:
    """:func:`aws_env` for a module whose pipeline runs are shared by its tests."""
    with pytest.MonkeyPatch.context() as patch:
        yield point_aws_at(patch, tmp_path_factory, moto_endpoint)


def point_aws_at(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
                 moto_endpoint: str) -> str:
    nowhere = tmp_path_factory.mktemp("no_aws_config")
    for name in (*SECRET_ENVIRONMENT, "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE", "HTTP_PROXY",
                 "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
                 "CARTON_CAPS_ARCHIVE_CACHE", "CARTON_CAPS_ARCHIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return moto_endpoint


@pytest.fixture
def bucket(aws_env: str) -> str:
    """A new, empty bucket for this test."""
    name = f"carton-caps-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(aws_env: str) -> Any:
    """A plain boto3 client, for the tests' own setting up and tampering."""
    return boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")


@pytest.fixture
def archive(bucket: str) -> Archive:
    return Archive.connect(f"s3://{bucket}/carton_caps", multipart_threshold=PART_BYTES,
                           part_bytes=PART_BYTES)


@dataclass(frozen=True)
class FakeRun:
    """A published run written into a home without running the pipeline."""

    paths: RunPaths
    snapshot_bytes: bytes

    @property
    def run_id(self) -> str:
        return self.paths.run_id


def publish_fake_run(home: Path, run_id: str, *, as_of: str, started_at: str,
                     snapshot: bytes = b"", status: str = "success") -> FakeRun:
    """A run as the pipeline leaves it after ``publish``: snapshot, manifest (valid against
    its schema), log, schema snapshot and dbt artefacts."""
    paths = RunPaths(home=home, run_id=run_id)
    paths.ensure()
    snapshot = snapshot or f"snapshot of {run_id}".encode()
    paths.snapshot.write_bytes(snapshot)
    manifest = manifest_io.new_manifest(
        run_id, home=home, params=RunParams(seed=1, users=300, as_of=as_of, days=90),
        started_at=manifest_io.utc_now(), previous_run_id=None)
    manifest.status = status  # type: ignore[assignment]
    manifest.started_at = started_at
    if status == "success":
        manifest.published_at = started_at
        manifest.pointer_updated = True
        manifest.snapshot = SnapshotRecord(path=str(paths.snapshot), size_bytes=len(snapshot),
                                           sha256=hashlib.sha256(snapshot).hexdigest())
    manifest_io.save(paths.manifest, manifest)
    paths.log.write_text(f"log of {run_id}\n")
    paths.schema_snapshot.write_text(json.dumps({"tables": {}}))
    target = paths.dbt_dir / "target"
    target.mkdir(parents=True)
    (target / "run_results.json").write_text(json.dumps({"results": [], "run": run_id}))
    return FakeRun(paths, snapshot)
