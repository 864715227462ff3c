"""Objects go up whole with their sha256 and come back verified, or not at all."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.storage.errors import ChecksumMismatchError, UploadIncompleteError
from pipeline.storage.objects import ObjectStore
from pipeline.storage.s3_client import settings_from_env
from pipeline.storage.uris import StorageLocation
from tests.storage.conftest import PART_BYTES


def store_for(bucket: str) -> ObjectStore:
    return ObjectStore.for_location(StorageLocation(bucket=bucket), settings_from_env(),
                                    multipart_threshold=PART_BYTES, part_bytes=PART_BYTES)


def put(store: ObjectStore, key: str, data: bytes, **options: Any) -> Any:
    return store.put_file(io.BytesIO(data), key, size=len(data),
                          sha256=hashlib.sha256(data).hexdigest(), **options)


def test_upload_list_download_round_trip_keeps_sha256(bucket: str, tmp_path: Path) -> None:
    store = store_for(bucket)
    data = b"user_id,event\n1,app_open\n"
    put(store, "landing/r1/app_events.csv", data)

    [listed] = store.list("landing/")
    head = store.head("landing/r1/app_events.csv")
    dest = tmp_path / "copy.csv"
    got = store.download("landing/r1/app_events.csv", dest,
                         expected_sha256=hashlib.sha256(data).hexdigest())

    assert listed.uri == f"s3://{bucket}/landing/r1/app_events.csv"
    assert listed.size == len(data) and listed.etag == head.etag
    assert head.sha256 == hashlib.sha256(data).hexdigest() == got.sha256
    assert dest.read_bytes() == data
    assert list(tmp_path.iterdir()) == [dest]


def test_a_file_larger_than_a_part_goes_up_in_parts(bucket: str, s3: Any) -> None:
    store = store_for(bucket)
    data = os.urandom(2 * PART_BYTES + 1234)
    sent: list[int] = []
    put(store, "big.bin", data, progress=lambda done, total: sent.append(done))

    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts, assembled by the store
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert sent == [PART_BYTES, 2 * PART_BYTES, len(data)]
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == data


def test_an_upload_cut_after_a_part_leaves_no_object_and_no_parts(bucket: str, s3: Any) -> None:
    store = store_for(bucket)
    data = os.urandom(2 * PART_BYTES + 10)

    def cut(done: int, total: int) -> None:
        raise ConnectionResetError("network dropped")

    with pytest.raises(UploadIncompleteError) as caught:
        put(store, "big.bin", data, progress=cut)

    assert str(caught.value) == (
        f"s3://{bucket}/big.bin not uploaded (ConnectionResetError: network dropped); the "
        "partial upload was aborted and nothing was left under its key")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_an_interrupt_during_an_upload_aborts_it_and_propagates(bucket: str, s3: Any) -> None:
    store = store_for(bucket)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        put(store, "big.bin", os.urandom(2 * PART_BYTES), progress=interrupt)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_bytes_that_do_not_hash_as_announced_are_never_completed(bucket: str, s3: Any) -> None:
    store = store_for(bucket)
    data = os.urandom(PART_BYTES + 10)
    with pytest.raises(UploadIncompleteError, match="the file changed or is damaged"):
        store.put_file(io.BytesIO(data), "big.bin", size=len(data), sha256="0" * 64)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_download_that_does_not_match_leaves_nothing(bucket: str, tmp_path: Path) -> None:
    store = store_for(bucket)
    put(store, "a.bin", b"original")
    with pytest.raises(ChecksumMismatchError) as caught:
        store.download("a.bin", tmp_path / "a.bin", expected_sha256="f" * 64)
    assert str(caught.value).endswith("but the archive recorded ffffffffffff…: altered or "
                                      "replaced, refused")
    assert list(tmp_path.iterdir()) == []
