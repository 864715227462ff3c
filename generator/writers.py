"""Deterministic writers: the SQLite app database and the CSV event exports.

Both write to a temporary name and rename when complete, so a half-written file never
carries a final name. SQLite output is byte-identical for identical input: fixed DDL,
fixed insert order, no journal, no timestamps stored in the file.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pyarrow.csv as pacsv

from foundation.source_tables import APP_DB_FILE, APP_DB_TABLES, SourceTable

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


class SqliteWriter:
    """Writes the app database: every app-db table created up front, rows appended.

    Rows go in through the Arrow ADBC SQLite driver, which binds Arrow columns to a
    prepared ``INSERT`` in C with the GIL released. The stdlib ``sqlite3`` module binds
    each value as a Python object: about 2.7x the time, all of it holding the GIL the
    generator's main thread needs. Stored values and storage classes are the same.
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / APP_DB_FILE
        self.tmp_path = out_dir / (APP_DB_FILE + ".tmp")
        self.tmp_path.unlink(missing_ok=True)
        # created here first so an unusable location fails with the OS's own error (the
        # driver reports any failed open as "failed to allocate memory"); SQLite takes an
        # empty file as a new database
        self.tmp_path.touch()
        try:
            # created, used and closed on one writer thread (never concurrently); the
            # transaction is ours: one BEGIN here, one COMMIT in close()
            self.con = adbc_sqlite.connect(str(self.tmp_path), autocommit=True)
        except BaseException:
            self.tmp_path.unlink(missing_ok=True)
            raise
        self.cursor = self.con.cursor()
        try:
            self._execute("PRAGMA page_size = 4096")
            self._execute("PRAGMA journal_mode = OFF")
            self._execute("PRAGMA synchronous = OFF")
            # pages stay in memory until the commit instead of spilling mid-transaction
            # (bounded: 128 MiB); the file's bytes do not depend on it
            self._execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            self._execute("BEGIN")
            for spec in APP_DB_TABLES:
                self._execute(create_table_sql(spec))
        except BaseException:
            self.abort()
            raise

    def _execute(self, sql: str) -> None:
        self.cursor.execute(sql)
        self.cursor.fetchall()

    def insert(self, spec: SourceTable, table: pa.Table) -> None:
        if table.column_names != list(spec.column_names):
            raise ValueError(f"{spec.name}: columns {table.column_names} != declaration")
        # booleans bind as the integers 0/1, nulls as NULL
        self.cursor.adbc_ingest(spec.name, table, mode="append")

    def close(self) -> None:
        self._execute("COMMIT")
        self._close_connection()
        self.tmp_path.replace(self.path)

    def abort(self) -> None:
        self._close_connection()
        self.tmp_path.unlink(missing_ok=True)

    def _close_connection(self) -> None:
        try:
            self.cursor.close()
        finally:
            self.con.close()

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
        # decodes dictionary columns (see generator.vectors.categorical) on this thread
        self._writer.write_table(table.cast(self.schema))
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
