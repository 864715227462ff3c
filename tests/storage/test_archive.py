"""Published runs are archived whole, and LATEST follows the as-of rule."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline.storage.archive import Archive
from pipeline.storage.archive_record import ArchivedRun, newest
from pipeline.storage.errors import ArchiveRecordError, StorageError, UploadIncompleteError
from tests.storage.conftest import PART_BYTES, publish_fake_run


def started(day: int, hour: int = 0) -> str:
    return f"2026-12-{day:02d}T{hour:02d}:00:00.000+00:00"


def test_a_published_run_is_archived_under_runs_with_its_record(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    run = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=started(1))

    result = archive.upload_run(run.paths)

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["carton_caps/LATEST",
                    "carton_caps/runs/r1/ARCHIVED.json",
                    "carton_caps/runs/r1/duckdb/carton_caps_r1.duckdb",
                    "carton_caps/runs/r1/logs/dbt/r1/target/run_results.json",
                    "carton_caps/runs/r1/logs/pipeline_r1.json",
                    "carton_caps/runs/r1/logs/pipeline_r1.log",
                    "carton_caps/runs/r1/logs/schema_r1.json"]
    for key in keys:
        assert len(s3.head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"]) == 64
    assert result.uri == f"s3://{bucket}/carton_caps/runs/r1/"
    assert (result.latest_run_id, result.latest_updated, result.previous_latest) == (
        "r1", True, None)
    assert archive.latest() == "r1"
    [record] = archive.runs().runs
    assert (record.run_id, record.as_of, record.snapshot.size) == (
        "r1", "2026-11-01", len(run.snapshot_bytes))


def test_a_large_snapshot_is_uploaded_in_parts(archive: Archive, tmp_path: Path, s3: Any,
                                               bucket: str) -> None:
    run = publish_fake_run(tmp_path, "big", as_of="2026-11-01", started_at=started(1),
                           snapshot=os.urandom(2 * PART_BYTES + 99))
    archive.upload_run(run.paths)
    head = s3.head_object(Bucket=bucket, Key="carton_caps/runs/big/duckdb/carton_caps_big.duckdb")
    assert head["ETag"].strip('"').endswith("-3")


def test_latest_names_the_newest_as_of_whatever_the_archiving_order(
        archive: Archive, tmp_path: Path) -> None:
    moves = []
    for run_id, as_of, day in [("nov", "2026-11-01", 1),
                               ("oct_backfill", "2026-10-01", 2),   # older date: stays
                               ("nov_rerun", "2026-11-01", 3),      # same date, newer run
                               ("sep_backfill", "2026-09-01", 4),
                               ("dec", "2026-12-01", 5)]:
        run = publish_fake_run(tmp_path, run_id, as_of=as_of, started_at=started(day))
        result = archive.upload_run(run.paths)
        moves.append((run_id, result.latest_updated, archive.latest()))

    assert moves == [("nov", True, "nov"),
                     ("oct_backfill", False, "nov"),
                     ("nov_rerun", True, "nov_rerun"),
                     ("sep_backfill", False, "nov_rerun"),
                     ("dec", True, "dec")]
    assert [r.run_id for r in archive.runs().runs] == [
        "sep_backfill", "oct_backfill", "nov", "nov_rerun", "dec"]


def test_among_equal_as_of_dates_the_run_started_last_wins() -> None:
    def record(run_id: str, as_of: str, start: str) -> ArchivedRun:
        return ArchivedRun(run_id, as_of, start, start, start, ())

    runs = [record("b", "2026-11-01", started(2)), record("a", "2026-11-01", started(3)),
            record("c", "2026-10-31", started(9))]
    assert newest(runs).run_id == "a"  # type: ignore[union-attr]
    assert newest([]) is None


def test_an_upload_cut_half_way_leaves_latest_on_the_previous_run(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    first = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=started(1))
    archive.upload_run(first.paths)
    second = publish_fake_run(tmp_path, "r2", as_of="2026-11-02", started_at=started(2),
                              snapshot=os.urandom(2 * PART_BYTES + 5))

    def cut_after_first_part(done: int, total: int) -> None:
        if total > PART_BYTES and done >= PART_BYTES:
            raise ConnectionResetError("cut")

    with pytest.raises(UploadIncompleteError):
        archive.upload_run(second.paths, progress=cut_after_first_part)

    assert archive.latest() == "r1"
    listing = archive.runs()
    assert [r.run_id for r in listing.runs] == ["r1"]
    assert listing.skipped == (
        f"run r2 is not in the archive s3://{bucket}/carton_caps (no complete archive: "
        f"s3://{bucket}/carton_caps/runs/r2/ARCHIVED.json is missing)",)
    snapshot_key = "carton_caps/runs/r2/duckdb/carton_caps_r2.duckdb"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=snapshot_key)

    resumed = archive.upload_run(second.paths)  # archiving again resumes
    assert resumed.uploaded == ("duckdb/carton_caps_r2.duckdb",)
    assert archive.latest() == "r2"


def test_a_run_that_did_not_publish_is_not_archived(archive: Archive, tmp_path: Path) -> None:
    archive.upload_run(publish_fake_run(tmp_path, "ok", as_of="2026-11-01",
                                        started_at=started(1)).paths)
    failed = publish_fake_run(tmp_path, "failed", as_of="2026-12-01", started_at=started(2),
                              status="failed")
    with pytest.raises(StorageError) as caught:
        archive.upload_run(failed.paths)
    assert str(caught.value) == ("run failed has not published a snapshot (status failed): "
                                 "not archived")
    assert archive.latest() == "ok"
    assert [r.run_id for r in archive.runs().runs] == ["ok"]


def test_a_snapshot_changed_since_publication_is_not_archived(archive: Archive,
                                                              tmp_path: Path) -> None:
    run = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=started(1))
    run.paths.snapshot.write_bytes(b"flipped after publication")
    with pytest.raises(UploadIncompleteError, match="the file changed or is damaged"):
        archive.upload_run(run.paths)
    assert archive.latest() is None


def test_a_linked_file_in_the_home_is_refused(archive: Archive, tmp_path: Path) -> None:
    run = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=started(1))
    secret = tmp_path.parent / "outside.txt"
    secret.write_text("not for the archive")
    run.paths.log.unlink()
    run.paths.log.symlink_to(secret)
    with pytest.raises(StorageError) as caught:
        archive.upload_run(run.paths)
    assert str(caught.value) == ("run r1 not archived: logs/pipeline_r1.log is a symbolic "
                                 "link: refused")


def test_a_corrupt_latest_is_named_and_replaced_by_the_next_newest_run(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="carton_caps/LATEST", Body=b"../../etc/passwd\n")
    with pytest.raises(ArchiveRecordError) as caught:
        archive.latest()
    assert str(caught.value) == (f"s3://{bucket}/carton_caps/LATEST is corrupt: it does not "
                                 "hold a run id")
    archive.upload_run(publish_fake_run(tmp_path, "r1", as_of="2026-11-01",
                                        started_at=started(1)).paths)
    assert archive.latest() == "r1"


def test_a_planted_record_naming_other_paths_is_skipped(archive: Archive, s3: Any,
                                                        bucket: str) -> None:
    record = {"record_version": 1, "run_id": "evil", "as_of": "2099-01-01",
              "started_at": started(1), "published_at": started(1), "archived_at": started(1),
              "files": [{"path": "../../.bashrc", "size": 1, "sha256": "0" * 64}]}
    s3.put_object(Bucket=bucket, Key="carton_caps/runs/evil/ARCHIVED.json",
                  Body=json.dumps(record).encode())
    listing = archive.runs()
    assert listing.runs == ()
    assert listing.skipped == (
        f"s3://{bucket}/carton_caps/runs/evil/ARCHIVED.json is not a valid archive record "
        "(lists a file that is not one of the run's files): refused",)


def test_archiving_again_aborts_the_parts_a_killed_upload_left(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    run = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=started(1))
    key = "carton_caps/runs/r1/duckdb/carton_caps_r1.duckdb"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 100)

    archive.upload_run(run.paths)

    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert archive.latest() == "r1"


def test_a_run_cut_between_its_record_and_latest_is_completed_by_the_next_archive(
        archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.upload_run(publish_fake_run(tmp_path, "nov", as_of="2026-11-01",
                                        started_at=started(1)).paths)
    dec = publish_fake_run(tmp_path, "dec", as_of="2026-12-01", started_at=started(2))

    def killed(self: Archive, record: ArchivedRun) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Archive, "_move_latest", killed)
        with pytest.raises(KeyboardInterrupt):
            archive.upload_run(dec.paths)
    assert archive.latest() == "nov"   # dec is complete, LATEST not yet moved

    backfill = archive.upload_run(publish_fake_run(tmp_path, "oct", as_of="2026-10-01",
                                                   started_at=started(3)).paths)

    assert (backfill.latest_run_id, backfill.previous_latest) == ("dec", "nov")
    assert archive.latest() == "dec"


def test_the_archive_must_be_an_s3_location(aws_env: str) -> None:
    with pytest.raises(StorageError) as caught:
        Archive.connect("/srv/archive")
    assert str(caught.value) == ("--archive must be an s3://bucket/prefix URI, got "
                                 "'/srv/archive'")


def test_a_run_archiving_as_one_of_its_steps_archives_its_final_manifest(
        archive: Archive, tmp_path: Path, s3: Any, bucket: str) -> None:
    run = publish_fake_run(tmp_path, "r1", as_of="2026-11-01", started_at=started(1))
    final = json.loads(run.paths.manifest.read_text())
    during = {**final, "status": "running"}
    run.paths.manifest.write_text(json.dumps(during))  # the home's copy, mid-run

    archive.upload_run(run.paths, manifest_document=final)

    body = s3.get_object(Bucket=bucket, Key="carton_caps/runs/r1/logs/pipeline_r1.json")["Body"]
    assert json.loads(body.read())["status"] == "success"
    assert archive.record("r1").file("logs/pipeline_r1.json").size == len(
        json.dumps(final, indent=2) + "\n")
