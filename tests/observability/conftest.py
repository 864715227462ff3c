"""Small hand-built snapshots for the observability unit tests (no generator, no dbt)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

import duckdb
from foundation.source_tables import SOURCE_TABLES, SourceTable

AS_OF_CUTOFF = datetime(2026, 11, 1)
ROWS = 20


def _value_sql(table: SourceTable, column: str, type_: str) -> str:
    """A valid value for row ``i`` (0-based) of a synthetic table: keys 1..ROWS, fks -> 1."""
    if column == table.primary_key:
        return "i + 1"
    if any(fk.column == column for fk in table.foreign_keys):
        return "1"
    if column == table.event_time_column:
        return "timestamp '2026-10-31 12:00:00' - to_hours(cast(i as bigint))"
    return {
        "bigint": "10 + i", "integer": "5", "double": "0.5", "boolean": "true",
        "timestamp": "timestamp '2026-10-01 00:00:00'", "text": "'t' || i", "json": "'{}'",
    }[type_]


def build_raw_snapshot(path: Path, rows: int = ROWS) -> Path:
    """A snapshot with every declared raw table, ``rows`` clean rows each."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        for table in SOURCE_TABLES:
            columns = ", ".join(f'"{c.name}" {c.duckdb_type}' for c in table.raw_columns)
            con.execute(f'create table raw."{table.name}" ({columns}, _ingested_at timestamp, '
                        "_run_id varchar, _source_file varchar)")
            values = ", ".join(_value_sql(table, c.name, c.type) for c in table.raw_columns)
            if table.name == "rewards_ledger":
                values = values.replace("'t' || i", "'earn_purchase'", 1)
            con.execute(
                f'insert into raw."{table.name}" select {values}, '
                "cast(now() at time zone 'UTC' as timestamp), 'run', 'f' "
                f"from range({rows}) as r(i)")
    return path


@pytest.fixture
def raw_snapshot(tmp_path: Path) -> Path:
    return build_raw_snapshot(tmp_path / "snap.duckdb")


def hours_before_cutoff(hours: float) -> datetime:
    return AS_OF_CUTOFF - timedelta(hours=hours)
