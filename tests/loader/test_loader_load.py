"""A valid run folder loads into raw with declared types, stamps and an ingestion log."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import duckdb
from foundation.paths import REPO_ROOT
from foundation.source_tables import APP_DB_FILE, SOURCE_TABLES
from tests.loader.helpers import (
    INGESTED_AT,
    PII_KEY,
    ROWS_PER_TABLE,
    RUN_ID,
    import_loader,
    write_dataset,
)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def test_every_raw_table_has_the_declared_columns_types_and_stamps(run_load, db_path):
    run_load()
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in SOURCE_TABLES:
            expected = [(c.name, c.duckdb_type) for c in table.raw_columns] + [
                ("_ingested_at", "TIMESTAMP"),
                ("_run_id", "VARCHAR"),
                ("_source_file", "VARCHAR"),
            ]
            assert _columns(con, "raw", table.name) == expected, table.name


def test_every_row_carries_one_ingested_at_run_id_and_its_source_file(run_load, db_path):
    report = run_load()
    assert report.ingested_at == INGESTED_AT
    with duckdb.connect(str(db_path), read_only=True) as con:
        stamps: set[datetime] = set()
        for table in SOURCE_TABLES:
            rows = con.execute(
                f'select distinct _ingested_at, _run_id, _source_file from raw."{table.name}"'
            ).fetchall()
            assert rows == [(INGESTED_AT, RUN_ID, table.file_name)], table.name
            stamps.add(rows[0][0])
    assert stamps == {INGESTED_AT}


def test_default_ingested_at_is_one_naive_utc_timestamp_of_now(loader, dataset, db_path):
    before = datetime.now(UTC).replace(tzinfo=None)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    after = datetime.now(UTC).replace(tzinfo=None)
    assert report.ingested_at.tzinfo is None
    assert before <= report.ingested_at <= after
    with duckdb.connect(str(db_path), read_only=True) as con:
        stamps = {
            con.execute(f'select distinct _ingested_at from raw."{t.name}"').fetchone()[0]
            for t in SOURCE_TABLES
        }
    assert stamps == {report.ingested_at}


def test_aware_ingested_at_is_stored_as_naive_utc(run_load, db_path):
    plus_two = timezone(timedelta(hours=2))
    report = run_load(ingested_at=datetime(2025, 10, 1, 8, 30, tzinfo=plus_two))
    assert report.ingested_at == datetime(2025, 10, 1, 6, 30)
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select distinct _ingested_at from raw.receipts").fetchall() == [
            (datetime(2025, 10, 1, 6, 30),)
        ]


def test_values_are_loaded_as_typed_values(run_load, db_path):
    run_load()
    with duckdb.connect(str(db_path), read_only=True) as con:
        users = con.execute(
            "select user_id, installed_at, is_verified, school_id from raw.users "
            "order by user_id"
        ).fetchall()
        events = con.execute(
            "select event_id, event_time, properties from raw.app_events order by event_id"
        ).fetchall()
        receipts = con.execute(
            "select ocr_confidence from raw.receipts order by receipt_id"
        ).fetchall()
    assert users[0] == (1, datetime(2025, 9, 1, 14, 3, 0), True, 1)
    assert users[1] == (2, datetime(2025, 9, 2, 14, 3, 1), False, 2)
    assert events[0] == (1, datetime(2025, 9, 1, 14, 3, 0), '{"screen": "home", "n": 0}')
    assert receipts == [(0.25,), (0.5,), (0.75,)]


def test_ingestion_log_records_hash_bytes_and_counts_per_table(run_load, dataset, db_path):
    report = run_load()
    with duckdb.connect(str(db_path), read_only=True) as con:
        log = con.execute(
            "select table_name, source_system, source_file, sha256, bytes, rows_loaded, "
            "rows_rejected, status, message, run_id, duration_s >= 0, started_at is not null "
            "from ops.ingestion_log order by table_name"
        ).fetchall()
    expected = []
    for table in sorted(SOURCE_TABLES, key=lambda t: t.name):
        path = dataset / table.file_name
        expected.append((
            table.name, table.system, table.file_name,
            hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size,
            ROWS_PER_TABLE, 0, "ok", None, RUN_ID, True, True,
        ))
    assert log == expected
    assert [t.table for t in report.tables] == [t.name for t in SOURCE_TABLES]
    assert {t.sha256 for t in report.tables if t.source_file == APP_DB_FILE} == {
        hashlib.sha256((dataset / APP_DB_FILE).read_bytes()).hexdigest()
    }
    assert report.rows_loaded == ROWS_PER_TABLE * len(SOURCE_TABLES)
    assert report.schema_drift == ()
    assert report.warnings == ()


def test_report_row_counts_match_the_raw_tables(tmp_path):
    loader = import_loader()
    data = write_dataset(tmp_path / "data", n=25)
    report = loader.load_raw(data, tmp_path / "s.duckdb", "r1", pii_key=PII_KEY)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        for load in report.tables:
            count = con.execute(f'select count(*) from raw."{load.table}"').fetchone()[0]
            assert count == load.rows_loaded == 25


def test_loads_into_an_existing_database_and_keeps_its_tables(loader, dataset, db_path):
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema ops")
        con.execute("create table ops.pipeline_runs (run_id varchar)")
        con.execute("insert into ops.pipeline_runs values ('earlier')")
    loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select * from ops.pipeline_runs").fetchall() == [("earlier",)]
        assert con.execute("select count(*) from raw.users").fetchone()[0] == ROWS_PER_TABLE


def test_rejects_and_drift_tables_exist_and_are_empty_on_a_clean_load(run_load, db_path):
    run_load()
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select count(*) from raw._rejects").fetchone()[0] == 0
        assert con.execute("select count(*) from ops.source_schema_drift").fetchone()[0] == 0


def test_loading_the_same_snapshot_twice_fails_and_keeps_the_first_load(run_load, db_path):
    run_load()
    loader = import_loader()
    with pytest.raises(loader.LoadError) as err:
        run_load()
    assert str(err.value) == (
        "snapshot.duckdb: raw.app_events already exists; a snapshot is loaded once"
    )
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select count(*) from ops.ingestion_log").fetchone()[0] == len(
            SOURCE_TABLES
        )


def test_the_loader_package_exposes_the_public_api():
    loader = import_loader()
    assert issubclass(loader.LoadError, Exception)
    assert loader.LoadReport.__dataclass_params__.frozen
    assert loader.TableLoad.__dataclass_params__.frozen
    assert callable(loader.load_raw) and callable(loader.main)


def test_cli_loads_and_prints_a_one_line_summary(loader, dataset, tmp_path, capsys,
                                                 pii_key_env):
    db = tmp_path / "cli.duckdb"
    code = loader.main(["--data-dir", str(dataset), "--db", str(db), "--run-id", "cli_run"])
    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    assert out.startswith(f"loaded {ROWS_PER_TABLE * len(SOURCE_TABLES)} rows (0 rejected) "
                          f"from {len(SOURCE_TABLES)} tables into {db} in ")
    assert out.endswith(" s (run cli_run)\n")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select distinct _run_id from raw.receipts").fetchall() == [
            ("cli_run",)
        ]


def test_cli_prints_each_warning_once(dataset, tmp_path, pii_key_env):
    """Run as a script (no logging configured): one ``warning:`` line per warning."""
    receipts = dataset / "receipts.csv"
    header, *rows = receipts.read_text().splitlines()
    receipts.write_text("\n".join([f"{header},loyalty_card_id", *(f"{r},x" for r in rows)])
                        + "\n")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "duckdb" / "load_raw.py"), "--data-dir", str(dataset),
         "--db", str(tmp_path / "cli.duckdb"), "--run-id", "cli_run"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("warning: receipts.csv: schema drift in receipts: column "
                             "'loyalty_card_id' added (column not in the declaration; loaded "
                             "into raw as VARCHAR)\n")


def test_loaded_file_is_a_path(run_load, db_path):
    report = run_load()
    assert report.db_path == db_path
    assert isinstance(report.db_path, Path)
