"""Whole runs on the local S3 server: sources landed there and read back through DuckDB,
the published run archived, replays that reproduce the marts row for row, and no
credential in any file under any home.

Three tiny pipeline runs, shared by the module's tests: ``landed`` generates, lands in
the bucket and archives; ``replayed`` replays the landing; ``local_replay`` replays the
session's tiny run's own data folder.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

import duckdb
from pipeline import runs
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import read_pointer
from pipeline.storage.archive import Archive
from pipeline.storage.cache import RunCache
from tests.conftest import TinyRun, run_tiny
from tests.storage.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY

SOURCE_FILES = ["app.sqlite", "app_events.csv", "receipt_items.csv", "receipts.csv",
                "rewards_ledger.csv"]


@dataclass(frozen=True)
class StorageRuns:
    bucket: str
    landed: TinyRun
    replayed: TinyRun

    @property
    def landing(self) -> str:
        return f"s3://{self.bucket}/landing"

    @property
    def archive(self) -> str:
        return f"s3://{self.bucket}/archive"


@pytest.fixture(scope="module")
def storage_runs(module_aws_env: str, tmp_path_factory: pytest.TempPathFactory) -> StorageRuns:
    bucket = f"carton-caps-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=module_aws_env).create_bucket(Bucket=bucket)
    landed = TinyRun(tmp_path_factory.mktemp("landing_home"), "landed")
    code = run_tiny(landed.home, landed.run_id, "--landing", f"s3://{bucket}/landing",
                    "--archive", f"s3://{bucket}/archive")
    assert code == 0, landed.manifest_path.read_text()
    replayed = TinyRun(tmp_path_factory.mktemp("replay_home"), "replayed")
    code = run_tiny(replayed.home, replayed.run_id, "--source",
                    f"s3://{bucket}/landing/landed/")
    assert code == 0, replayed.manifest_path.read_text()
    return StorageRuns(bucket, landed, replayed)


def marts(snapshot: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart's rows, sorted: the marts row for row."""
    with duckdb.connect(str(snapshot), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1").fetchall()]
        return {t: sorted(con.execute(f'select * from marts."{t}"').fetchall(), key=repr)
                for t in tables}


@pytest.mark.pipeline_run
def test_a_run_lands_its_sources_reads_them_back_and_archives_itself(
        storage_runs: StorageRuns, s3: Any) -> None:
    run = storage_runs.landed
    manifest = manifest_io.read(run.manifest_path, run.home)
    sources = manifest["sources"]
    assert [s["name"] for s in manifest["steps"]][:3] == ["generate", "land", "load_raw"]
    assert manifest["steps"][-1]["name"] == "archive"
    assert (sources["location"], sources["origin"]) == (
        f"{storage_runs.landing}/landed", "landed")
    assert [f["name"] for f in sources["files"]] == SOURCE_FILES
    for item in sources["files"]:
        key = item["uri"].removeprefix(f"s3://{storage_runs.bucket}/")
        head = s3.head_object(Bucket=storage_runs.bucket, Key=key)
        body = s3.get_object(Bucket=storage_runs.bucket, Key=key)["Body"].read()
        assert (item["size"], item["etag"]) == (len(body), head["ETag"].strip('"'))
        assert item["sha256"] == head["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
    loaded = {t["source_file"]: t["sha256"] for t in manifest["ingestion"]["tables"].values()}
    assert loaded == {f["name"]: f["sha256"] for f in sources["files"]}
    # the plaintext exports live in the landing only: no local copy, no temporary folder
    assert not (run.home / "data" / "landed").exists()
    assert not (run.home / "data" / ".tmp_landed").exists()
    assert manifest["archive"]["status"] == "archived"
    assert manifest["archive"]["latest_run_id"] == "landed"
    assert Archive.connect(storage_runs.archive).latest() == "landed"
    assert runs.main(["--home", str(run.home), "--archive", storage_runs.archive,
                      "verify"]) == 0


@pytest.mark.pipeline_run
def test_replaying_the_landing_reproduces_the_marts_row_for_row(
        storage_runs: StorageRuns) -> None:
    replayed = manifest_io.read(storage_runs.replayed.manifest_path, storage_runs.replayed.home)
    landed = manifest_io.read(storage_runs.landed.manifest_path, storage_runs.landed.home)

    assert [s["name"] for s in replayed["steps"]][:2] == ["source", "load_raw"]
    assert replayed["params"]["source"] == f"{storage_runs.landing}/landed"
    assert replayed["sources"]["origin"] == "replay"
    # every object's sha256 came from its metadata and was checked against the bytes loaded
    assert {f["sha256_from"] for f in replayed["sources"]["files"]} == {"verified"}
    assert [(f["name"], f["sha256"]) for f in replayed["sources"]["files"]] == [
        (f["name"], f["sha256"]) for f in landed["sources"]["files"]]
    assert marts(storage_runs.replayed.snapshot) == marts(storage_runs.landed.snapshot)


@pytest.mark.pipeline_run
def test_replaying_a_runs_own_data_folder_reproduces_its_marts(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    replay = TinyRun(tmp_path / "home", "local_replay")
    source = tiny_run.home / "data" / tiny_run.run_id

    assert run_tiny(replay.home, replay.run_id, "--source", str(source)) == 0

    manifest = manifest_io.read(replay.manifest_path, replay.home)
    original = manifest_io.read(tiny_run.manifest_path, tiny_run.home)
    assert manifest["sources"]["location"] == str(source)
    assert {f["name"]: f["sha256"] for f in manifest["sources"]["files"]
            if f["name"] != "faults.json"} == {
        f["name"]: f["sha256"] for f in original["sources"]["files"]}
    assert not (replay.home / "data" / replay.run_id).exists()
    assert marts(replay.snapshot) == marts(tiny_run.snapshot)


def leaks(folder: Path) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        content = path.read_bytes()
        found += [f"{path.relative_to(folder)} holds {value[:4]}…"
                  for value in (ACCESS_KEY_ID, SECRET_ACCESS_KEY) if value.encode() in content]
    return found


@pytest.mark.pipeline_run
def test_no_credential_in_any_file_under_either_home(storage_runs: StorageRuns,
                                                     tmp_path: Path) -> None:
    """After a landing and archiving run, a replay and a second home served from the
    archive: every file of every home (logs, manifests, snapshots, dbt artefacts, the
    cache) and the bucket itself hold neither the key id nor the secret."""
    serving_home = tmp_path / "serving_home"
    cache = RunCache(serving_home / "archive_cache")
    cache.mirror(Archive.connect(storage_runs.archive))
    assert read_pointer(cache.paths) == "landed"
    assert runs.main(["--home", str(serving_home), "--archive", storage_runs.archive,
                      "list"]) == 0

    for home in (storage_runs.landed.home, storage_runs.replayed.home, serving_home):
        assert leaks(home) == []
    s3 = boto3.client("s3")
    for item in s3.list_objects_v2(Bucket=storage_runs.bucket)["Contents"]:
        body = s3.get_object(Bucket=storage_runs.bucket, Key=item["Key"])["Body"].read()
        assert ACCESS_KEY_ID.encode() not in body and SECRET_ACCESS_KEY.encode() not in body
