"""Each failure of object storage stops a run with one clear line, its cause in the
manifest (and so in the run's health), nothing published and the pointer as it was.

The runs fail before dbt builds anything, so each takes seconds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from foundation.paths import HomePaths
from pipeline.checks.health import RunHealth
from pipeline.records import manifest as manifest_io
from pipeline.storage.landing import land_run
from pipeline.storage.uris import parse_location
from tests.conftest import TinyRun, run_tiny
from tests.storage.test_failures import closed_port, enforced_auth  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(300)


def failed_run(home: Path, *options: str) -> dict[str, Any]:
    """Run the tiny pipeline with ``options``; it must fail and publish nothing."""
    assert run_tiny(home, "r", *options) == 1
    manifest = manifest_io.read(home / "logs" / "pipeline_r.json", home)
    assert manifest["status"] == "failed"
    assert not (home / "duckdb" / "LATEST_DB.txt").exists()
    assert list((home / "duckdb").glob("carton_caps_r.duckdb*")) == []
    assert not (home / "data" / ".tmp_r").exists()
    health = RunHealth.from_json(manifest["health"])
    assert health is not None and health.status == "failed"
    assert manifest["error"] in health.findings[0].title
    return manifest


@pytest.fixture
def landed_copy(tiny_run: TinyRun, bucket: str) -> str:
    """The tiny run's source files landed in the bucket (with their sha256); its URI."""
    location = parse_location(f"s3://{bucket}/exports/tiny", what="--source")
    land_run(tiny_run.home / "data" / tiny_run.run_id, location, home=tiny_run.home)
    return location.uri()


@pytest.mark.pipeline_run
def test_an_unreachable_store_fails_the_landing_with_one_line(
        aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        closed_port: int) -> None:  # noqa: F811
    endpoint = f"http://127.0.0.1:{closed_port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

    manifest = failed_run(tmp_path, "--landing", "s3://carton-caps/landing")

    assert manifest["failed_step"] == "land"
    assert manifest["error"] == (
        f"landing the sources failed: cannot reach the object store {endpoint} (connection "
        "failed) while opening bucket s3://carton-caps: check AWS_ENDPOINT_URL and that the "
        "store is running")


@pytest.mark.pipeline_run
def test_refused_credentials_fail_the_replay_with_one_line(
        bucket: str, enforced_auth: tuple[str, str], tmp_path: Path,  # noqa: F811
        aws_env: str) -> None:
    manifest = failed_run(tmp_path, "--source", f"s3://{bucket}/exports/tiny")

    assert manifest["failed_step"] == "source"
    assert manifest["error"] == (
        f"reading the sources failed: the object store {aws_env} refused the credentials "
        f"(InvalidAccessKeyId) while opening bucket s3://{bucket}: check AWS_ACCESS_KEY_ID "
        "and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")


@pytest.mark.pipeline_run
def test_a_missing_bucket_is_named(aws_env: str, tmp_path: Path) -> None:
    manifest = failed_run(tmp_path, "--source", "s3://no-such-bucket/exports/tiny")

    assert manifest["error"] == ("reading the sources failed: bucket no-such-bucket does not "
                                 f"exist at {aws_env}")


@pytest.mark.pipeline_run
def test_a_missing_object_is_named(landed_copy: str, s3: Any, bucket: str,
                                   tmp_path: Path) -> None:
    s3.delete_object(Bucket=bucket, Key="exports/tiny/receipts.csv")

    manifest = failed_run(tmp_path, "--source", landed_copy)

    assert manifest["failed_step"] == "source"
    assert manifest["error"] == f"receipts.csv: file not found in {landed_copy}"


@pytest.mark.pipeline_run
def test_a_malformed_export_in_the_bucket_fails_the_load_as_a_local_one_would(
        landed_copy: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    """The header is read with one ranged GET and checked by the loader's own preflight."""
    key = "exports/tiny/app_events.csv"
    rows = list(csv.reader(io.StringIO(s3.get_object(Bucket=bucket, Key=key)["Body"]
                                       .read().decode())))
    dropped = rows[0].index("app_version")
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(
        [value for i, value in enumerate(row) if i != dropped] for row in rows)
    body = out.getvalue().encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body,
                  Metadata={"sha256": hashlib.sha256(body).hexdigest()})

    manifest = failed_run(tmp_path, "--source", landed_copy)

    assert manifest["failed_step"] == "load_raw"
    assert manifest["error"] == "app_events.csv: missing required column 'app_version'"


@pytest.mark.pipeline_run
def test_an_altered_app_database_is_refused_before_it_is_opened(
        landed_copy: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    key = "exports/tiny/app.sqlite"
    original = s3.get_object(Bucket=bucket, Key=key)
    altered = bytearray(original["Body"].read())
    altered[-10] ^= 0xFF  # its sha256 metadata copied over unchanged
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(altered), Metadata=original["Metadata"])

    manifest = failed_run(tmp_path, "--source", landed_copy)

    assert manifest["failed_step"] == "load_raw"
    assert manifest["error"].startswith(f"{landed_copy}/app.sqlite has sha256 ")
    assert manifest["error"].endswith(" was recorded when it was written: altered or "
                                      "damaged, refused")


@pytest.mark.pipeline_run
def test_a_truncated_export_is_refused_and_nothing_is_published(
        landed_copy: str, s3: Any, bucket: str, tmp_path: Path) -> None:
    key = "exports/tiny/receipts.csv"
    original = s3.get_object(Bucket=bucket, Key=key)
    body = original["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body[: len(body) // 2],
                  Metadata=original["Metadata"])

    manifest = failed_run(tmp_path, "--source", landed_copy)

    assert manifest["failed_step"] == "load_raw"
    assert manifest["error"].startswith(f"{landed_copy}/receipts.csv has sha256 ")
    assert manifest["error"].endswith("was recorded when it was written: altered, truncated "
                                      "or damaged, refused")


@pytest.mark.pipeline_run
def test_a_malformed_local_export_fails_the_replay_and_publishes_nothing(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    source = tmp_path / "exports"
    shutil.copytree(tiny_run.home / "data" / tiny_run.run_id, source)
    with sqlite3.connect(source / "app.sqlite") as con:
        con.execute("alter table users drop column email")

    manifest = failed_run(tmp_path / "home", "--source", str(source))

    assert manifest["failed_step"] == "load_raw"
    assert manifest["error"] == "app.sqlite: table users missing required column 'email'"
    assert manifest["sources"]["origin"] == "replay"  # what was found is recorded all the same
    assert HomePaths(tmp_path / "home").data_dir.is_dir()
