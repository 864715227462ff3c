"""Helpers for the raw-loader tests: the loader module, tiny datasets written by hand.

The dataset is written straight from ``foundation/source_tables.py`` (SQLite with the
declared types, CSVs with the declared column order), so these tests do not depend on
the generator.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType

import loader
from foundation.source_tables import (
    APP_DB_FILE,
    APP_DB_TABLES,
    EVENT_EXPORT_TABLES,
    Column,
    SourceTable,
)

ROWS_PER_TABLE = 3
RUN_ID = "run_test-1"
#: The key the loader tests hash PII with (a pipeline run uses its home's key).
PII_KEY = "loader-tests-pii-key"
INGESTED_AT = datetime(2025, 10, 1, 6, 30, 0)


def import_loader() -> ModuleType:
    """The ``loader`` package (its public API: load_raw, LoadError, main, ...)."""
    return loader


def csv_value(column: Column, i: int) -> str:
    """The CSV text of row ``i`` of ``column`` (valid for its declared type)."""
    if column.type in ("bigint", "integer"):
        return str(i + 1)
    if column.type == "double":
        return f"{0.25 * (i + 1)}"
    if column.type == "boolean":
        return "true" if i % 2 == 0 else "false"
    if column.type == "timestamp":
        return f"2025-09-{i % 28 + 1:02d}T14:03:{i % 60:02d}Z"
    if column.type == "json":
        return json.dumps({"screen": "home", "n": i})  # commas + quotes: a quoted field
    return f"{column.name} {i}"


def sqlite_value(column: Column, i: int) -> object:
    if column.type in ("bigint", "integer"):
        return i + 1
    if column.type == "double":
        return 0.25 * (i + 1)
    if column.type == "boolean":
        return 1 if i % 2 == 0 else 0
    return csv_value(column, i)


def table_rows(table: SourceTable, n: int = ROWS_PER_TABLE) -> list[list[str]]:
    return [[csv_value(column, i) for column in table.columns] for i in range(n)]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]],
              *, newline: str = "\n", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        if bom:
            handle.write("\ufeff")
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_sqlite(path: Path, tables: Sequence[SourceTable] = APP_DB_TABLES,
                 n: int = ROWS_PER_TABLE) -> Path:
    con = sqlite3.connect(path)
    try:
        for table in tables:
            columns = ", ".join(
                f'"{c.name}" {c.sqlite_type}'
                + (" PRIMARY KEY" if c.name == table.primary_key else "")
                + ("" if c.nullable else " NOT NULL")
                for c in table.columns
            )
            con.execute(f'create table "{table.name}" ({columns})')
            marks = ", ".join("?" for _ in table.columns)
            con.executemany(
                f'insert into "{table.name}" values ({marks})',
                [[sqlite_value(c, i) for c in table.columns] for i in range(n)],
            )
        con.commit()
    finally:
        con.close()
    return path


def write_dataset(data_dir: Path, n: int = ROWS_PER_TABLE) -> Path:
    """A complete, valid run folder: app.sqlite + one CSV per event export."""
    data_dir.mkdir(parents=True, exist_ok=True)
    write_sqlite(data_dir / APP_DB_FILE, n=n)
    for table in EVENT_EXPORT_TABLES:
        write_csv(data_dir / table.file_name, table.column_names, table_rows(table, n))
    return data_dir
