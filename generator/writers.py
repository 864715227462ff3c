"""Deterministic writers: the SQLite app database and the CSV event exports.

Both write to a temporary name and rename when complete, so a half-written file never
carries a final name. SQLite output is byte-identical for identical input: fixed DDL,
fixed insert order, no journal, no timestamps stored in the file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pacsv

from generator.source_tables import APP_DB_FILE, APP_DB_TABLES, SourceTable

#: Rows converted to Python objects at a time when inserting (bounds memory).
INSERT_BATCH_ROWS = 20_000
#: SQLite page cache of the writer, KiB.
SQLITE_CACHE_KIB = 131_072
#: Rows the CSV writer formats at a time (the bytes do not depend on it; larger is faster).
CSV_BATCH_ROWS = 16_384


def quote_identifier(name: str) -> str:
    """SQL identifier quoting (names only ever come from the declaration)."""
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(spec: SourceTable) -> str:
    """``CREATE TABLE`` for a source table: declared types, NOT NULL, PRIMARY and FOREIGN KEYs."""
    lines = []
    for column in spec.columns:
        line = f"    {quote_identifier(column.name)} {column.sqlite_type}"
        if not column.nullable:
            line += " NOT NULL"
        if column.name == spec.primary_key:
            line += " PRIMARY KEY"
        lines.append(line)
    for fk in spec.foreign_keys:
        lines.append(
            f"    FOREIGN KEY ({quote_identifier(fk.column)}) REFERENCES "
            f"{quote_identifier(fk.ref_table)} ({quote_identifier(fk.ref_column)})"
        )
    return f"CREATE TABLE {quote_identifier(spec.name)} (\n" + ",\n".join(lines) + "\n)"


def insert_sql(spec: SourceTable) -> str:
    columns = ", ".join(quote_identifier(c) for c in spec.column_names)
    marks = ", ".join("?" for _ in spec.column_names)
    # identifiers come only from the declaration; values are bound parameters
    return f"INSERT INTO {quote_identifier(spec.name)} ({columns}) VALUES ({marks})"  # noqa: S608


def _python_values(column: pa.ChunkedArray) -> list:
    """Python values of a column; null-free integers go through numpy (much faster)."""
    if pa.types.is_integer(column.type) and column.null_count == 0:
        return column.to_numpy().tolist()
    return column.to_pylist()


class SqliteWriter:
    """Writes the app database: every app-db table created up front, rows appended."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / APP_DB_FILE
        self.tmp_path = out_dir / (APP_DB_FILE + ".tmp")
        self.tmp_path.unlink(missing_ok=True)
        # created, used and closed on one writer thread (never concurrently)
        self.con = sqlite3.connect(self.tmp_path, isolation_level=None, check_same_thread=False)
        self.con.execute("PRAGMA page_size = 4096")
        self.con.execute("PRAGMA journal_mode = OFF")
        self.con.execute("PRAGMA synchronous = OFF")
        # pages stay in memory until the commit instead of spilling mid-transaction
        # (bounded: 128 MiB); the file's bytes do not depend on it
        self.con.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        self.con.execute("BEGIN")
        for spec in APP_DB_TABLES:
            self.con.execute(create_table_sql(spec))

    def insert(self, spec: SourceTable, table: pa.Table) -> None:
        if table.column_names != list(spec.column_names):
            raise ValueError(f"{spec.name}: columns {table.column_names} != declaration")
        sql = insert_sql(spec)
        for start in range(0, table.num_rows, INSERT_BATCH_ROWS):
            batch = table.slice(start, INSERT_BATCH_ROWS)
            columns = [_python_values(batch.column(name)) for name in spec.column_names]
            self.con.executemany(sql, zip(*columns, strict=True))

    def close(self) -> None:
        self.con.execute("COMMIT")
        self.con.close()
        self.tmp_path.replace(self.path)

    def abort(self) -> None:
        self.con.close()
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> SqliteWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class CsvExport:
    """One CSV export: UTF-8, header row, declared column order, nulls as empty fields."""

    def __init__(self, out_dir: Path, spec: SourceTable, schema: pa.Schema) -> None:
        self.spec = spec
        self.schema = schema
        self.path = out_dir / spec.file_name
        self.tmp_path = out_dir / (spec.file_name + ".tmp")
        self.rows = 0
        self._sink = pa.OSFile(str(self.tmp_path), "wb")
        self._writer = pacsv.CSVWriter(
            self._sink, schema, write_options=pacsv.WriteOptions(batch_size=CSV_BATCH_ROWS))

    def write(self, table: pa.Table) -> None:
        if table.column_names != list(self.spec.column_names):
            raise ValueError(f"{self.spec.name}: columns {table.column_names} != declaration")
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        self._sink.close()
        self.tmp_path.replace(self.path)

    def abort(self) -> None:
        self._writer.close()
        self._sink.close()
        self.tmp_path.unlink(missing_ok=True)


def csv_schema(spec: SourceTable) -> pa.Schema:
    """Arrow schema the generator hands the CSV writer for a table (ISO text timestamps)."""
    arrow = {"bigint": pa.int64(), "integer": pa.int64(), "text": pa.string(),
             "double": pa.float64(), "boolean": pa.bool_(), "timestamp": pa.string(),
             "json": pa.string()}
    return pa.schema([(c.name, arrow[c.type]) for c in spec.columns])
