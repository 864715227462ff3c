"""Shared helpers of the generator tests: build a run, open it in DuckDB with declared types."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb_extensions

import duckdb
from foundation.source_tables import APP_DB_TABLES, EVENT_EXPORT_TABLES, SourceTable
from generator.data_generator import GeneratorConfig, generate_dataset

TINY = GeneratorConfig(seed=7, users=300, as_of=dt.date(2026, 11, 1))
AS_OF = "2026-11-01 00:00:00"


def build(out_dir: Path, config: GeneratorConfig = TINY) -> Path:
    generate_dataset(out_dir, config)
    return out_dir


def _select_typed(spec: SourceTable, source: str) -> str:
    cols = []
    for column in spec.columns:
        name = f'"{column.name}"'
        if column.type == "timestamp":
            cols.append(f"strptime({name}, '%Y-%m-%dT%H:%M:%SZ') as {name}")
        elif column.type == "boolean":
            cols.append(f"cast({name} as boolean) as {name}")
        else:
            cols.append(f"cast({name} as {column.duckdb_type}) as {name}")
    return f"select {', '.join(cols)} from {source}"


def connect(out_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one table per source table, typed as declared."""
    duckdb_extensions.import_extension("sqlite_scanner")
    con = duckdb.connect()
    con.execute("LOAD sqlite_scanner")
    con.execute(f"ATTACH '{out_dir / 'app.sqlite'}' AS app (TYPE sqlite, READ_ONLY)")
    for spec in APP_DB_TABLES:
        con.execute(f"create table {spec.name} as {_select_typed(spec, 'app.' + spec.name)}")
    for spec in EVENT_EXPORT_TABLES:
        path = out_dir / spec.file_name
        source = f"read_csv('{path}', header=true, all_varchar=true)"
        con.execute(f"create table {spec.name} as {_select_typed(spec, source)}")
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]
