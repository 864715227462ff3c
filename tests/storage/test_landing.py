"""Source files land in a bucket, are listed with their hashes, and are read from it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import duckdb
from pipeline.storage.duckdb_s3 import configure_s3, read_error
from pipeline.storage.errors import (
    ChecksumMismatchError,
    CredentialsError,
    EndpointUnreachableError,
    IntegrityError,
    ObjectNotFoundError,
)
from pipeline.storage.landing import (
    assert_unchanged,
    csv_uri,
    fetch_sqlite,
    land_run,
    list_sources,
    run_location,
)
from pipeline.storage.objects import ObjectStore
from pipeline.storage.uris import StorageLocation, parse_location

CSV = b"event_id,user_id,event_type\n1,10,app_open\n2,11,scan_receipt\n"


def generator_output(home: Path) -> Path:
    """A run's source folder as the generator leaves it (one CSV, the SQLite file)."""
    folder = home / "data" / "r1"
    folder.mkdir(parents=True)
    (folder / "app_events.csv").write_bytes(CSV)
    with sqlite3.connect(folder / "app.sqlite") as con:
        con.execute("create table users (user_id integer, email text)")
        con.execute("insert into users values (10, 'a@example.com')")
    con.close()
    (folder / "notes.txt").write_text("not a source file")
    return folder


@pytest.fixture
def landing(bucket: str) -> StorageLocation:
    return parse_location(f"s3://{bucket}/carton_caps/landing", what="--landing")


def test_generator_output_lands_with_uri_size_etag_and_sha256(
        landing: StorageLocation, tmp_path: Path, bucket: str, s3: Any) -> None:
    folder = generator_output(tmp_path)
    dest = run_location(landing, "r1")

    landed = land_run(folder, dest, home=tmp_path)
    listed = list_sources(dest)

    assert [o.name for o in landed] == ["app.sqlite", "app_events.csv"]
    assert listed == landed
    events = listed[1]
    assert events.uri == f"s3://{bucket}/carton_caps/landing/r1/app_events.csv"
    assert events.size == len(CSV)
    assert events.sha256 == hashlib.sha256(CSV).hexdigest()
    assert events.etag == s3.head_object(
        Bucket=bucket, Key="carton_caps/landing/r1/app_events.csv")["ETag"].strip('"')
    assert events.manifest_entry() == {"uri": events.uri, "size": len(CSV),
                                       "etag": events.etag, "sha256": events.sha256}


def test_exports_placed_without_metadata_are_hashed_from_their_bytes(
        landing: StorageLocation, bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="carton_caps/landing/r9/receipts.csv", Body=CSV)
    [found] = list_sources(run_location(landing, "r9"))
    assert (found.name, found.sha256, found.sha256_from) == (
        "receipts.csv", hashlib.sha256(CSV).hexdigest(), "computed")


def test_sqlite_is_fetched_to_a_temp_folder_and_verified(
        landing: StorageLocation, tmp_path: Path) -> None:
    folder = generator_output(tmp_path / "home")
    dest = run_location(landing, "r1")
    land_run(folder, dest, home=tmp_path / "home")
    expected = hashlib.sha256((folder / "app.sqlite").read_bytes()).hexdigest()
    temp = tmp_path / "run_tmp"

    path, record = fetch_sqlite(dest, temp, expected_sha256=expected)

    assert path == temp / "app.sqlite" and record.sha256 == expected
    assert path.stat().st_mode & 0o777 == 0o600  # plaintext PII: its owner only
    with sqlite3.connect(path) as con:
        assert con.execute("select user_id from users").fetchall() == [(10,)]
    con.close()


def test_an_altered_sqlite_is_refused_and_not_left_behind(
        landing: StorageLocation, tmp_path: Path, bucket: str, s3: Any) -> None:
    folder = generator_output(tmp_path / "home")
    dest = run_location(landing, "r1")
    land_run(folder, dest, home=tmp_path / "home")
    key = "carton_caps/landing/r1/app.sqlite"
    metadata = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    s3.put_object(Bucket=bucket, Key=key, Body=b"SQLite format 3\x00 but not the one",
                  Metadata=metadata)
    temp = tmp_path / "run_tmp"

    with pytest.raises(ChecksumMismatchError, match="altered or damaged, refused"):
        fetch_sqlite(dest, temp)
    assert list(temp.iterdir()) == []


def test_a_run_without_sqlite_says_so(landing: StorageLocation, tmp_path: Path,
                                      bucket: str) -> None:
    with pytest.raises(ObjectNotFoundError) as caught:
        fetch_sqlite(run_location(landing, "empty"), tmp_path)
    assert str(caught.value) == (f"s3://{bucket}/carton_caps/landing/empty/app.sqlite does not "
                                 "exist")


def test_an_object_replaced_after_listing_fails_the_check(
        landing: StorageLocation, tmp_path: Path, bucket: str, s3: Any) -> None:
    dest = run_location(landing, "r1")
    land_run(generator_output(tmp_path), dest, home=tmp_path)
    listed = list_sources(dest)
    s3.put_object(Bucket=bucket, Key="carton_caps/landing/r1/app_events.csv", Body=CSV + CSV)
    with pytest.raises(IntegrityError, match=r"app_events\.csv was replaced while the run read"):
        assert_unchanged(listed, store=ObjectStore.for_location(dest))


def test_duckdb_reads_a_csv_from_the_bucket_path_style(landing: StorageLocation,
                                                       tmp_path: Path) -> None:
    dest = run_location(landing, "r1")
    land_run(generator_output(tmp_path), dest, home=tmp_path)
    db = tmp_path / "snapshot.duckdb"
    with duckdb.connect(str(db)) as con:
        configure_s3(con, scope=dest.uri())
        con.execute("create table app_events as select * from read_csv(?)",
                    [csv_uri(dest, "app_events.csv")])
        rows = con.execute("select event_id, event_type from app_events order by 1").fetchall()
        secret = con.execute("select secret_string from duckdb_secrets()").fetchone()
    assert rows == [(1, "app_open"), (2, "scan_receipt")]
    assert secret is not None and "url_style=path" in secret[0]
    assert "secret=redacted" in secret[0]


def test_duckdb_read_failures_are_one_clear_line(landing: StorageLocation, aws_env: str,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 bucket: str) -> None:
    uri = csv_uri(run_location(landing, "nothing"), "app_events.csv")
    with duckdb.connect() as con:
        configure_s3(con)
        with pytest.raises(duckdb.Error) as caught:
            con.execute("select * from read_csv(?)", [uri])
    error = read_error(caught.value, uri=uri)
    assert isinstance(error, ObjectNotFoundError)
    assert str(error) == f"{uri} does not exist (or its bucket does not), read through DuckDB"

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the discard port: closed
    with duckdb.connect() as con:
        configure_s3(con)
        with pytest.raises(duckdb.Error) as caught:
            con.execute("select * from read_csv(?)", [uri])
    error = read_error(caught.value, uri=uri)
    assert isinstance(error, EndpointUnreachableError)
    assert str(error) == ("cannot reach the object store http://127.0.0.1:9 while reading "
                          f"{uri} through DuckDB: check AWS_ENDPOINT_URL and that the store is "
                          "running")


def test_duckdb_without_credentials_says_so(aws_env: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with duckdb.connect() as con, pytest.raises(CredentialsError) as caught:
        configure_s3(con)
    assert str(caught.value) == ("no AWS credentials found: set AWS_ACCESS_KEY_ID and "
                                 "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
