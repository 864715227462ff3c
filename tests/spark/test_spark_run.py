"""A Spark run is a run like any other: it publishes the same snapshot layout, records
its engine, lands raw as Parquet, fails where a DuckDB run fails and stops on a signal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import duckdb
from foundation.paths import REPO_ROOT
from tests.spark.conftest import AS_OF, DAYS, SEED, USERS, EngineRuns, run_pipeline

pytestmark = pytest.mark.spark


def test_spark_run_publishes_and_records_its_engine(engine_runs: EngineRuns) -> None:
    manifest = engine_runs.manifest("spark")
    assert manifest["status"] == "success"
    assert manifest["params"]["engine"] == "spark"
    assert manifest["engine"]["name"] == "spark"
    assert manifest["engine"]["spark"] == manifest["engine"]["pyspark"]
    assert manifest["engine"]["java"]
    assert [s["name"] for s in manifest["steps"]] == [
        s["name"] for s in engine_runs.manifest("duckdb")["steps"]]
    pointer = (engine_runs.home / "duckdb" / "LATEST_DB.txt").read_text()
    assert pointer == "carton_caps_spark.duckdb\n"
    # Spark's scratch (warehouse, export) does not outlive the run
    assert not (engine_runs.home / "data" / "spark" / "spark_work").exists()


def test_duckdb_run_records_no_spark(engine_runs: EngineRuns) -> None:
    manifest = engine_runs.manifest("duckdb")
    assert manifest["params"]["engine"] == "duckdb"
    assert "engine" not in manifest


def test_raw_lands_as_parquet_with_the_loaders_types_and_stamps(engine_runs: EngineRuns) -> None:
    parquet = engine_runs.home / "data" / "spark" / "parquet" / "raw"
    with duckdb.connect(str(engine_runs.snapshot("spark")), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
            " and table_type = 'BASE TABLE'").fetchall()]
        assert "receipts" in tables
        for table in tables:
            landed = f"read_parquet('{parquet / table / 'data.parquet'}')"
            # names and types (Parquet does not keep NOT NULL constraints)
            assert ([row[:2] for row in con.execute(f"describe select * from {landed}").fetchall()]
                    == [row[:2] for row in con.execute(f'describe select * from raw."{table}"')
                        .fetchall()])
            assert (con.execute(f"select count(*) from {landed}").fetchone()
                    == con.execute(f'select count(*) from raw."{table}"').fetchone())
        stamps = con.execute(
            f"select distinct _run_id from read_parquet('{parquet / 'receipts' / 'data.parquet'}')"
        ).fetchall()
    assert stamps == [("spark",)]


def test_pii_is_hashed_with_the_same_key_on_both_engines(engine_runs: EngineRuns) -> None:
    query = "select user_id, email_hash from staging.stg_app_db__users order by user_id"
    with duckdb.connect(str(engine_runs.snapshot("duckdb")), read_only=True) as con:
        on_duckdb = con.execute(query).fetchall()
    with duckdb.connect(str(engine_runs.snapshot("spark")), read_only=True) as con:
        on_spark = con.execute(query).fetchall()
    assert on_spark == on_duckdb
    assert all(len(digest) == 64 for _, digest in on_spark if digest)
    key = (engine_runs.home / ".secrets" / "pii_hmac.key").read_text().strip()
    log = (engine_runs.home / "logs" / "pipeline_spark.log").read_text()
    assert key not in log


@pytest.mark.parametrize("fault", ["schema_drift_missing_column", "null_keys"])
def test_a_fault_fails_the_spark_run_at_the_duckdb_runs_step(engine_runs: EngineRuns,
                                                             fault: str) -> None:
    failed_steps = {}
    for engine in ("duckdb", "spark"):
        run_id = f"{fault}_{engine}"
        assert run_pipeline(engine_runs.home, run_id, engine, "--faults", fault) == 1
        manifest = engine_runs.manifest(run_id)
        assert manifest["status"] == "failed" and manifest["pointer_updated"] is False
        assert not engine_runs.snapshot(run_id).exists()
        assert not Path(str(engine_runs.snapshot(run_id)) + ".building").exists()
        failed_steps[engine] = manifest["failed_step"]
    assert failed_steps["spark"] == failed_steps["duckdb"]
    pointer = (engine_runs.home / "duckdb" / "LATEST_DB.txt").read_text()
    assert pointer == "carton_caps_spark.duckdb\n"


def test_sigterm_during_the_spark_build_interrupts_the_run(engine_runs: EngineRuns) -> None:
    run_id = "spark_sigterm"
    command = [sys.executable, "pipeline/run_pipeline.py", "--home", str(engine_runs.home),
               "--seed", str(SEED), "--users", str(USERS), "--as-of", AS_OF, "--days",
               str(DAYS), "--run-id", run_id, "--engine", "spark", "--quiet"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    work_dir = engine_runs.home / "data" / run_id / "spark_work"
    deadline = time.monotonic() + 300
    while not (work_dir / "warehouse").exists() and time.monotonic() < deadline:
        assert process.poll() is None
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 130
    manifest = json.loads((engine_runs.home / "logs" / f"pipeline_{run_id}.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["failed_step"] == "dbt_build"
    assert not Path(str(engine_runs.snapshot(run_id)) + ".building").exists()
    assert not work_dir.exists()
    # the Spark JVM of that run is gone too
    leftover = subprocess.run(["pgrep", "-f", str(work_dir)], capture_output=True, check=False)
    assert leftover.stdout == b""
