"""Archived runs are downloaded once, verified before use, and reused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import duckdb
from foundation.paths import HomePaths
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import read_pointer
from pipeline.storage.archive import Archive
from pipeline.storage.cache import RunCache
from pipeline.storage.errors import (
    ChecksumMismatchError,
    ObjectNotFoundError,
    TruncatedObjectError,
)
from tests.storage.conftest import PART_BYTES, FakeRun, publish_fake_run

STARTED = "2026-12-01T00:00:00.000+00:00"
SNAPSHOT_KEY = "carton_caps/runs/r1/duckdb/carton_caps_r1.duckdb"


def archived_run(archive: Archive, home: Path, snapshot: bytes = b"") -> FakeRun:
    run = publish_fake_run(home, "r1", as_of="2026-11-01", started_at=STARTED, snapshot=snapshot)
    archive.upload_run(run.paths)
    return run


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                  and ".archive_cache" not in p.parts)


def test_a_run_is_downloaded_once_then_reused(archive: Archive, tmp_path: Path) -> None:
    run = archived_run(archive, tmp_path / "home", snapshot=os.urandom(PART_BYTES + 7))
    cache = RunCache(tmp_path / "cache")

    first = cache.fetch(archive)
    second = cache.fetch(archive, rehash=True)

    assert first.run_id == "r1" and first.reused == ()
    assert first.downloaded == ("logs/pipeline_r1.json", "logs/pipeline_r1.log",
                                "logs/schema_r1.json", "logs/dbt/r1/target/run_results.json",
                                "duckdb/carton_caps_r1.duckdb")
    assert second.downloaded == () and second.reused == first.downloaded
    assert first.snapshot.read_bytes() == run.snapshot_bytes
    # the cache is a home the pipeline's own readers open
    document = manifest_io.read(HomePaths(cache.root).run("r1").manifest, cache.root)
    assert document["run_id"] == "r1"


def test_serving_the_latest_run_points_the_cache_home_at_it(archive: Archive,
                                                            tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table users as select 42 as user_count")
    archived_run(archive, tmp_path / "home", snapshot=db.read_bytes())
    cache = RunCache(tmp_path / "cache")

    cached = cache.serve_latest(archive)

    assert read_pointer(cache.paths) == "r1"
    with duckdb.connect(str(cached.snapshot), read_only=True) as con:
        assert con.execute("select user_count from users").fetchone() == (42,)


def test_an_altered_snapshot_is_refused_and_nothing_is_cached(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    run = archived_run(archive, tmp_path / "home")
    altered = bytearray(run.snapshot_bytes)
    altered[3] ^= 0xFF  # same size, one byte flipped; the object's metadata copied over
    metadata = s3.head_object(Bucket=bucket, Key=SNAPSHOT_KEY)["Metadata"]
    s3.put_object(Bucket=bucket, Key=SNAPSHOT_KEY, Body=bytes(altered), Metadata=metadata)
    cache = RunCache(tmp_path / "cache")

    with pytest.raises(ChecksumMismatchError) as caught:
        cache.fetch(archive)

    assert str(caught.value).startswith(f"s3://{bucket}/{SNAPSHOT_KEY} has sha256 ")
    assert str(caught.value).endswith("was recorded when it was written: altered or damaged, "
                                      "refused")
    assert "duckdb/carton_caps_r1.duckdb" not in files_under(cache.root)
    assert not list((cache.root / "duckdb").glob(".*partial"))


def test_a_replaced_snapshot_without_metadata_is_refused(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    run = archived_run(archive, tmp_path / "home")
    s3.put_object(Bucket=bucket, Key=SNAPSHOT_KEY, Body=run.snapshot_bytes[::-1])
    with pytest.raises(ChecksumMismatchError, match="altered or damaged, refused"):
        RunCache(tmp_path / "cache").fetch(archive)
    assert "duckdb/carton_caps_r1.duckdb" not in files_under(tmp_path / "cache")


def test_a_truncated_snapshot_is_refused_and_nothing_is_cached(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    run = archived_run(archive, tmp_path / "home")
    metadata = s3.head_object(Bucket=bucket, Key=SNAPSHOT_KEY)["Metadata"]
    s3.put_object(Bucket=bucket, Key=SNAPSHOT_KEY, Body=run.snapshot_bytes[:5],
                  Metadata=metadata)
    cache = RunCache(tmp_path / "cache")

    with pytest.raises(TruncatedObjectError) as caught:
        cache.fetch(archive)

    assert str(caught.value) == (
        f"s3://{bucket}/{SNAPSHOT_KEY} is 5 bytes but {len(run.snapshot_bytes)} were "
        "recorded: truncated or replaced, refused")
    assert "duckdb/carton_caps_r1.duckdb" not in files_under(cache.root)


def test_a_cached_file_altered_in_place_is_downloaded_again(archive: Archive,
                                                            tmp_path: Path) -> None:
    run = archived_run(archive, tmp_path / "home")
    cache = RunCache(tmp_path / "cache")
    snapshot = cache.fetch(archive).snapshot
    stat = snapshot.stat()
    snapshot.write_bytes(bytes(len(run.snapshot_bytes)))   # same size
    os.utime(snapshot, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time

    again = cache.fetch(archive, rehash=True)

    assert again.downloaded == ("duckdb/carton_caps_r1.duckdb",)
    assert snapshot.read_bytes() == run.snapshot_bytes


def test_an_empty_archive_says_so(archive: Archive, tmp_path: Path, bucket: str) -> None:
    with pytest.raises(ObjectNotFoundError) as caught:
        RunCache(tmp_path / "cache").fetch(archive)
    assert str(caught.value) == (f"the archive s3://{bucket}/carton_caps holds no run yet "
                                 "(no LATEST)")


def test_an_unknown_run_says_so(archive: Archive, tmp_path: Path, bucket: str) -> None:
    archived_run(archive, tmp_path / "home")
    with pytest.raises(ObjectNotFoundError) as caught:
        RunCache(tmp_path / "cache").fetch(archive, "nope")
    assert str(caught.value) == (
        f"run nope is not in the archive s3://{bucket}/carton_caps (no complete archive: "
        f"s3://{bucket}/carton_caps/runs/nope/ARCHIVED.json is missing)")


def test_the_small_files_can_be_fetched_without_the_snapshot(archive: Archive,
                                                            tmp_path: Path) -> None:
    archived_run(archive, tmp_path / "home")
    cache = RunCache(tmp_path / "cache")
    light = cache.fetch(archive, "r1", include_snapshot=False)
    assert "duckdb/carton_caps_r1.duckdb" not in light.downloaded
    assert not light.snapshot.exists()
    assert cache.fetch(archive, "r1").downloaded == ("duckdb/carton_caps_r1.duckdb",)
