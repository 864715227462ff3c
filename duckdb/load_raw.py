"""Load one run's source files into schema ``raw`` of a DuckDB file, all or nothing.

Sources (declared once in ``generator/source_tables.py``):

* the SQLite app database ``app.sqlite`` (schools, users, products, referrals,
  redemptions), read through DuckDB's SQLite scanner;
* the CSV event exports ``<table>.csv`` (app_events, receipts, receipt_items,
  rewards_ledger), streamed through DuckDB's native ``read_csv`` with the DECLARED
  column types (never type auto-detection), matched to the header by column name.

Every raw table is ``raw.<table>`` with the declared columns in declared order and
types, followed by three stamps:

* ``_ingested_at TIMESTAMP``: one timestamp per load, naive ``TIMESTAMP`` holding UTC
  (the platform's convention for every timestamp);
* ``_run_id VARCHAR``: the run that loaded the row;
* ``_source_file VARCHAR``: the file name relative to the run's data folder
  (``receipts.csv``, ``app.sqlite``).

Then, only when the source carries columns the declaration does not, one ``VARCHAR``
column per extra column, under the source's own name (quoted), in source order, AFTER
the stamps: the declared columns and stamps keep their positions in every run.

Bookkeeping written in the same transaction:

* ``ops.ingestion_log``: one row per table (hash, bytes, rows loaded/rejected, timing);
* ``ops.source_schema_drift``: one row per column that differs from the declaration;
* ``raw._rejects``: one row per rejected source row (first error of that row).

Rules:

* The whole load runs in ONE DuckDB transaction; any failure rolls it back, and a
  database file that did not exist before the load is removed again, so a failed load
  never leaves a half-written snapshot.
* A missing file, table or declared column fails the load. An extra column is loaded
  as text (see above) and recorded as schema drift (``change='added'``), returned in the
  report and logged as a warning. An extra column whose name is empty or equals
  (case-insensitively, as DuckDB compares names) a declared, stamp or earlier extra
  column cannot be loaded: it is recorded as drift with ``not loaded into raw``.
* Malformed rows (wrong type, wrong field count, invalid UTF-8, unterminated quote) are
  rejected into ``raw._rejects``; the load fails when a table's rejected share exceeds
  ``max_reject_share`` (default 1 %). The load is then rolled back, so ``raw._rejects``
  is gone too: the :class:`LoadError` carries the first :data:`REJECTS_SAMPLE` rejected
  records of that table (``err.rejects``) for the caller to keep.
* The run id is checked by ``pipeline.run_id.validate_run_id`` (the project's one rule).
* No business logic: nulls in non-nullable columns, duplicates, orphans etc. are loaded
  as they are, for the contracts and dbt tests to catch.

DuckDB CSV behaviour this loader relies on (checked with DuckDB 1.5.5):

* ``store_rejects`` reports, per error, the file line (header = line 1), the column and
  the raw line: ``CAST`` (wrong type), ``TOO MANY COLUMNS`` / ``MISSING COLUMNS`` (wrong
  field count), ``INVALID ENCODING`` (not UTF-8; the raw text shows ``?``) and
  ``UNQUOTED VALUE`` (unterminated quote). One row can have several errors; it counts
  once, ``raw._rejects`` keeps its first error.
* An unterminated quote runs on to the next quote character: with no later quote the
  rest of the file becomes one rejected row; otherwise the broken line and the one after
  it become one rejected record (that second row is not counted separately).
* The line ending is detected by DuckDB (LF or CRLF; forcing the wrong one silently
  yields 0 rows, so it is never forced); a mix of both in one file fails the load with
  DuckDB's parser message. A UTF-8 BOM is skipped.
* Timestamps are parsed as ``TIMESTAMP``: ``Z``/no suffix is UTC as declared, garbage is
  rejected, but an explicit offset (``+02:00``) is NOT applied (DuckDB drops it). Parsing
  as ``TIMESTAMPTZ`` would apply it but turns unparseable values into NULL without a
  reject, so it is not used. SQLite timestamps (small tables, cast in SQL) do honour
  offsets.
* Integer columns take DuckDB's cast: ``1.5`` becomes 2 and ``1e3`` 1000 in CSVs; in
  SQLite an integer column must hold digits only (else the row is rejected).
* An empty field is NULL (quoted ``""`` too: DuckDB's ``allow_quoted_nulls`` default).

CLI: ``python duckdb/load_raw.py --data-dir DIR --db PATH --run-id ID``.

This file lives in ``duckdb/`` (a folder that must never become a package, it would
shadow the ``duckdb`` library); import it through ``pipeline.components``, which loads it
by path once per process (so there is one ``LoadError`` class)::

    from pipeline.components import load_raw_module
    load_raw = load_raw_module()
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import logging
import re
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

# ``duckdb/`` (this file's folder) has no ``__init__.py``: it is at most a namespace
# portion, so the installed ``duckdb`` library (a regular package) always wins.
import duckdb  # noqa: E402
from generator.source_tables import (  # noqa: E402
    APP_DB_FILE,
    APP_DB_TABLES,
    EVENT_EXPORT_TABLES,
    SOURCE_TABLES,
    Column,
    SourceTable,
)
from pipeline.run_id import RunIdError, validate_run_id  # noqa: E402

logger = logging.getLogger(__name__)
# The library idiom: without it, Python's last-resort handler prints every warning on
# stderr when no logging is configured (the CLI), and main() prints them again itself.
logger.addHandler(logging.NullHandler())

DEFAULT_MAX_REJECT_SHARE = 0.01
RAW_SCHEMA = "raw"
OPS_SCHEMA = "ops"
REJECTS_TABLE = "_rejects"
STAMP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_ingested_at", "TIMESTAMP"),
    ("_run_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
)
MAX_REJECT_TEXT = 4096  # characters of the raw line kept in raw._rejects
REJECTS_SAMPLE = 20  # rejected records a failed load hands back (LoadError.rejects)
MAX_SAMPLE_TEXT = 1000  # characters of the raw line kept per sampled record
EXTRA_LOADED = "column not in the declaration; loaded into raw as VARCHAR"

STATUS_OK = "ok"
STATUS_WARN = "warn"

_DDL_OPS = (
    f"""
    create table if not exists {OPS_SCHEMA}.ingestion_log (
        run_id varchar not null,
        table_name varchar not null,
        source_system varchar not null,
        source_file varchar not null,
        sha256 varchar not null,
        bytes bigint not null,
        rows_loaded bigint not null,
        rows_rejected bigint not null,
        started_at timestamp not null,
        duration_s double not null,
        status varchar not null,
        message varchar
    )
    """,
    f"""
    create table if not exists {OPS_SCHEMA}.source_schema_drift (
        run_id varchar not null,
        table_name varchar not null,
        source_file varchar not null,
        column_name varchar not null,
        change varchar not null,
        detail varchar not null
    )
    """,
    f"""
    create table if not exists {RAW_SCHEMA}.{REJECTS_TABLE} (
        run_id varchar not null,
        table_name varchar not null,
        source_file varchar not null,
        line bigint,
        column_name varchar,
        error_type varchar not null,
        reason varchar not null,
        raw_text varchar
    )
    """,
)


class LoadError(Exception):
    """A load that cannot complete; ``str(err)`` is the one-line user-facing message.

    ``table`` names the source table at fault when there is one; ``rejects`` holds up to
    :data:`REJECTS_SAMPLE` rejected records when a table exceeded the reject threshold
    (dicts with ``table_name, source_file, line, column_name, error_type, reason,
    raw_text``, raw text cut to :data:`MAX_SAMPLE_TEXT` characters), else is empty.
    """

    def __init__(self, message: str, *, table: str | None = None,
                 rejects: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.table = table
        self.rejects: tuple[dict[str, Any], ...] = tuple(rejects)[:REJECTS_SAMPLE]


@dataclass(frozen=True)
class TableLoad:
    """What happened to one source table (one row of ``ops.ingestion_log``)."""

    table: str
    source_file: str
    rows_loaded: int
    rows_rejected: int
    sha256: str
    bytes: int
    duration_s: float
    status: str
    source_system: str = ""
    started_at: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class LoadReport:
    """The outcome of a successful load; the pipeline copies it into the manifest."""

    run_id: str
    ingested_at: datetime
    tables: tuple[TableLoad, ...]
    schema_drift: tuple[dict, ...]
    warnings: tuple[str, ...]
    db_path: Path | None = None
    duration_s: float = 0.0

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.tables)


@dataclass(frozen=True)
class _CsvPlan:
    """How to read one CSV: the file's columns in file order, mapped to the declaration."""

    table: SourceTable
    path: Path
    file_columns: tuple[str, ...]  # names DuckDB gives the file's columns, in file order
    file_types: tuple[str, ...]
    drift: tuple[dict, ...] = field(default_factory=tuple)
    # extra columns loaded into raw: (synthetic read_csv name, raw column name)
    extras: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Reject:
    line: int | None
    column_name: str | None
    error_type: str
    reason: str
    raw_text: str | None

    def describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column_name:
            where.append(f"column {self.column_name}")
        prefix = " ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def record(self, table: SourceTable, source_file: str) -> dict[str, Any]:
        """This reject as a plain dict (the columns of ``raw._rejects`` but ``run_id``)."""
        text = self.raw_text
        return {"table_name": table.name, "source_file": source_file, "line": self.line,
                "column_name": self.column_name, "error_type": self.error_type,
                "reason": self.reason,
                "raw_text": None if text is None else text[:MAX_SAMPLE_TEXT]}


# --------------------------------------------------------------------------- helpers


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _raw_table(table: SourceTable) -> str:
    return f"{RAW_SCHEMA}.{_quote_ident(table.name)}"


def _to_naive_utc(moment: datetime | None) -> datetime:
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _percent(share: float) -> str:
    return f"{share * 100:.2f} %"


def _validate_arguments(run_id: str, max_reject_share: float) -> None:
    if not isinstance(run_id, str):
        raise LoadError(f"invalid run_id {run_id!r}: must be a string")
    try:
        validate_run_id(run_id)
    except RunIdError as exc:
        raise LoadError(str(exc)) from None
    if not 0.0 <= max_reject_share <= 1.0:
        raise LoadError(
            f"invalid max_reject_share {max_reject_share!r}: must be between 0 and 1"
        )


# --------------------------------------------------------------------------- preflight


def _read_csv_header(path: Path) -> list[str]:
    """The header row of a CSV (BOM, CRLF and quoted names handled).

    Read as bytes up to the end of the header record only, so that bad bytes further
    down the file are left to the row-level reject handling.
    """
    chunks: list[bytes] = []
    with path.open("rb") as handle:
        while True:
            line = handle.readline(1 << 20)
            chunks.append(line)
            raw = b"".join(chunks)
            # a header name may be quoted and hold a newline: read on while a quote is open
            if not line or raw.count(b'"') % 2 == 0 or len(raw) > (1 << 22):
                break
    if not raw.strip():
        raise LoadError(f"{path.name}: empty file, no header row")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError(f"{path.name}: header row is not valid UTF-8") from None
    try:
        header = next(csv.reader([text.rstrip("\r\n")]), None)
    except csv.Error as exc:
        raise LoadError(f"{path.name}: unreadable header row ({exc})") from None
    if not header:
        raise LoadError(f"{path.name}: empty file, no header row")
    return [name.strip() for name in header]


def _plan_csv(table: SourceTable, data_dir: Path) -> _CsvPlan:
    path = data_dir / table.file_name
    if not path.is_file():
        raise LoadError(f"{table.file_name}: file not found in {data_dir}", table=table.name)
    header = _read_csv_header(path)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise LoadError(f"{table.file_name}: duplicate column {name!r} in header",
                            table=table.name)
        seen.add(name)
    for column in table.columns:
        if column.name not in seen:
            raise LoadError(f"{table.file_name}: missing required column {column.name!r}",
                            table=table.name)
    declared = set(table.column_names)
    names: list[str] = []
    types: list[str] = []
    extra_names = [name for name in header if name not in declared]
    loadable, drift = _plan_extras(table, extra_names)
    extras: list[tuple[str, str]] = []
    extra = 0
    for name in header:
        if name in declared:
            names.append(name)
            types.append(table.column(name).duckdb_type)
        else:
            # Extra columns are read as text under a synthetic name; the file's name only
            # reaches the SQL quoted, as the raw column's name.
            extra += 1
            synthetic = f"_extra_{extra}"
            names.append(synthetic)
            types.append("VARCHAR")
            if name in loadable:
                extras.append((synthetic, name))
    if tuple(n for n in header if n in declared) != table.column_names:
        logger.info("%s: header order differs from the declaration; matched by name",
                    table.file_name)
    return _CsvPlan(table, path, tuple(names), tuple(types), tuple(drift), tuple(extras))


def _plan_extras(table: SourceTable, names: Sequence[str]) -> tuple[set[str], list[dict]]:
    """Which extra source columns can be loaded into raw (as VARCHAR), and their drift."""
    taken = {name.casefold(): name for name in (*table.column_names,
                                                 *(n for n, _ in STAMP_COLUMNS))}
    loadable: set[str] = set()
    drift: list[dict] = []
    for name in names:
        clash = taken.get(name.casefold())
        if not name:
            detail = "column not in the declaration; not loaded into raw (empty name)"
        elif clash is not None:
            detail = ("column not in the declaration; not loaded into raw (its name clashes "
                      f"with column {clash!r})")
        else:
            detail = EXTRA_LOADED
            loadable.add(name)
            taken[name.casefold()] = name
        drift.append(_drift(table, name, "added", detail))
    return loadable, drift


def _drift(table: SourceTable, column: str, change: str, detail: str) -> dict:
    return {
        "table_name": table.name,
        "source_file": table.file_name,
        "column_name": column,
        "change": change,
        "detail": detail,
    }


def _plan_sqlite(data_dir: Path) -> tuple[Path, tuple[dict, ...], dict[str, tuple[str, ...]]]:
    """Check that app.sqlite holds every declared table and column.

    Returns the file, the drift and, per table, the extra columns to load as VARCHAR.
    """
    path = data_dir / APP_DB_FILE
    if not path.is_file():
        raise LoadError(f"{APP_DB_FILE}: file not found in {data_dir}")
    drift: list[dict] = []
    extras: dict[str, tuple[str, ...]] = {}
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise LoadError(f"{APP_DB_FILE}: cannot open SQLite database ({exc})") from None
    try:
        for table in APP_DB_TABLES:
            rows = con.execute(
                "select name, type from pragma_table_info(?)", [table.name]
            ).fetchall()
            if not rows:
                raise LoadError(f"{APP_DB_FILE}: missing table {table.name!r}",
                                table=table.name)
            found = {name: (decl or "").upper() for name, decl in rows}
            for column in table.columns:
                if column.name not in found:
                    raise LoadError(
                        f"{APP_DB_FILE}: table {table.name} missing required column "
                        f"{column.name!r}",
                        table=table.name,
                    )
                if found[column.name] != column.sqlite_type:
                    drift.append(_drift(
                        table, column.name, "type_changed",
                        f"declared {column.sqlite_type}, found "
                        f"{found[column.name] or 'no type'} in {APP_DB_FILE}; values are "
                        f"still loaded as {column.duckdb_type}",
                    ))
            extra_names = [name for name, _decl in rows if name not in table.column_names]
            loadable, extra_drift = _plan_extras(table, extra_names)
            drift.extend(extra_drift)
            extras[table.name] = tuple(name for name in extra_names if name in loadable)
    except sqlite3.DatabaseError as exc:
        raise LoadError(f"{APP_DB_FILE}: not a readable SQLite database ({exc})") from None
    finally:
        con.close()
    return path, tuple(drift), extras


# --------------------------------------------------------------------------- rejects

_CAST_MESSAGE = re.compile(r"""Could not convert string "(?P<value>.*)" to '(?P<type>[^']+)'""",
                           re.DOTALL)
_FIELD_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _reason(error_type: str, message: str, declared_type: str | None) -> str:
    """A short human reason for one DuckDB CSV error."""
    if error_type == "CAST":
        match = _CAST_MESSAGE.search(message)
        if match:
            shown = declared_type or match.group("type")
            return f"could not convert {match.group('value')!r} to {shown}"
    if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        match = _FIELD_COUNT.search(message)
        if match:
            return f"expected {match.group(1)} fields, found {match.group(2)}"
    if error_type == "UNQUOTED VALUE":
        return "unterminated quoted field"
    if error_type == "INVALID ENCODING":
        return "invalid UTF-8 byte sequence"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return "line longer than the maximum line size"
    return message.splitlines()[0] if message else error_type.lower()


def _csv_rejects(con: duckdb.DuckDBPyConnection, plan: _CsvPlan) -> list[_Reject]:
    """One reject per rejected line: the first error of that line (by column)."""
    rows = con.execute(
        f"""
        select line, column_name, error_type, error_message, left(csv_line, {MAX_REJECT_TEXT})
        from (
            select *, row_number() over (
                partition by line
                order by case error_type
                    when 'UNQUOTED VALUE' then 0
                    when 'INVALID ENCODING' then 1
                    when 'TOO MANY COLUMNS' then 2
                    when 'MISSING COLUMNS' then 3
                    else 4 end,
                    column_idx) as error_rank
            from _load_rejects
        )
        where error_rank = 1
        order by line
        """  # noqa: S608
    ).fetchall()
    rejects: list[_Reject] = []
    for line, column_name, error_type, message, raw_text in rows:
        declared_type = None
        shown_column = column_name
        if column_name and column_name.startswith("_extra_"):
            shown_column = None
        elif column_name in plan.table.column_names:
            declared_type = plan.table.column(column_name).duckdb_type
        if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
            shown_column = None
        rejects.append(_Reject(line, shown_column, error_type,
                               _reason(error_type, message or "", declared_type), raw_text))
    return rejects


# --------------------------------------------------------------------------- loaders


def _create_raw_table(con: duckdb.DuckDBPyConnection, table: SourceTable,
                      extras: Sequence[str] = ()) -> None:
    """Declared columns, then the stamps, then any extra source columns as VARCHAR."""
    columns = [f"{_quote_ident(c.name)} {c.duckdb_type}" for c in table.columns]
    columns += [f"{name} {type_}" for name, type_ in STAMP_COLUMNS]
    columns += [f"{_quote_ident(name)} VARCHAR" for name in extras]
    con.execute(f"create table {_raw_table(table)} ({', '.join(columns)})")


def _load_csv(
    con: duckdb.DuckDBPyConnection, plan: _CsvPlan, stamps: list[Any]
) -> tuple[int, list[_Reject]]:
    table = plan.table
    _create_raw_table(con, table, [name for _, name in plan.extras])
    columns_struct = "{" + ", ".join(
        f"{_sql_str(name)}: {_sql_str(type_)}"
        for name, type_ in zip(plan.file_columns, plan.file_types, strict=True)
    ) + "}"
    select_list = ", ".join(_quote_ident(c.name) for c in table.columns)
    extra_list = "".join(f", {_quote_ident(synthetic)}" for synthetic, _ in plan.extras)
    con.execute("drop table if exists _load_rejects")
    con.execute("drop table if exists _load_scans")
    inserted = con.execute(
        f"""
        insert into {_raw_table(table)}
        select {select_list}, ?, ?, ?{extra_list}
        from read_csv(
            ?,
            header = true,
            delim = ',',
            quote = '"',
            escape = '"',
            encoding = 'utf-8',
            auto_detect = false,
            columns = {columns_struct},
            store_rejects = true,
            rejects_table = '_load_rejects',
            rejects_scan = '_load_scans'
        )
        """,  # noqa: S608
        [*stamps, str(plan.path)],
    ).fetchone()
    rows_loaded = int(inserted[0]) if inserted else 0
    return rows_loaded, _csv_rejects(con, plan)


def _valid_value_sql(column: Column, ref: str) -> str:
    """SQL predicate: the VARCHAR ``ref`` (read from SQLite) holds a valid value."""
    if column.type in ("bigint", "integer"):
        return (f"({ref} is null or (regexp_full_match({ref}, '-?[0-9]+') "
                f"and try_cast({ref} as {column.duckdb_type}) is not null))")
    if column.type == "timestamp":
        return f"({ref} is null or try_cast({ref} as timestamptz) is not null)"
    if column.type in ("text", "json"):
        return "true"
    if column.type == "boolean":
        # SQLite stores booleans as 0/1; DuckDB's cast would also take 'yes', 't', ...
        return f"({ref} is null or lower({ref}) in ('0', '1', 'true', 'false'))"
    return f"({ref} is null or try_cast({ref} as {column.duckdb_type}) is not null)"


def _typed_value_sql(column: Column, ref: str) -> str:
    if column.type == "timestamp":
        # offsets are honoured (the session time zone is UTC), result is naive UTC
        return f"timezone('UTC', cast({ref} as timestamptz))"
    if column.type in ("text", "json"):
        return ref
    return f"cast({ref} as {column.duckdb_type})"


def _load_sqlite_table(
    con: duckdb.DuckDBPyConnection, table: SourceTable, stamps: list[Any],
    extras: Sequence[str] = (),
) -> tuple[int, list[_Reject]]:
    _create_raw_table(con, table, extras)
    source = f"_load_app_db.{_quote_ident(table.name)}"
    con.execute("drop table if exists _load_sqlite_rows")
    columns = ", ".join(_quote_ident(c.name) for c in table.columns)
    # extra columns travel under synthetic names (already text: sqlite_all_varchar)
    extra_select = "".join(f", {_quote_ident(name)} as _extra_{i}"
                           for i, name in enumerate(extras, start=1))
    extra_list = "".join(f", _extra_{i}" for i in range(1, len(extras) + 1))
    con.execute(
        f"create temp table _load_sqlite_rows as select rowid as _line, {columns}{extra_select} "  # noqa: S608
        f"from {source}"
    )
    checks = [
        (column, _valid_value_sql(column, _quote_ident(column.name))) for column in table.columns
    ]
    all_valid = " and ".join(check for _, check in checks) or "true"
    typed = ", ".join(_typed_value_sql(c, _quote_ident(c.name)) for c in table.columns)
    inserted = con.execute(
        f"insert into {_raw_table(table)} select {typed}, ?, ?, ?{extra_list} "  # noqa: S608
        f"from _load_sqlite_rows where {all_valid}",
        stamps,
    ).fetchone()
    rows_loaded = int(inserted[0]) if inserted else 0
    failing = [(column, check) for column, check in checks if check != "true"]
    rejects: list[_Reject] = []
    if failing:
        bad_column = " ".join(
            f"when not {check} then {_sql_str(column.name)}" for column, check in failing
        )
        bad_value = " ".join(
            f"when not {check} then {_quote_ident(column.name)}" for column, check in failing
        )
        bad_rows = con.execute(
            f"""
            select _line, bad_column, bad_value,
                   left(to_json(struct_pack({columns}))::varchar, {MAX_REJECT_TEXT})
            from (
                select *, case {bad_column} end as bad_column,
                       case {bad_value} end as bad_value
                from _load_sqlite_rows
                where not ({all_valid})
            )
            order by _line
            """  # noqa: S608
        ).fetchall()
        for line, column_name, value, raw_text in bad_rows:
            declared = table.column(column_name).duckdb_type
            rejects.append(_Reject(int(line), column_name, "CAST",
                                   f"could not convert {value!r} to {declared}", raw_text))
    con.execute("drop table _load_sqlite_rows")
    return rows_loaded, rejects


# --------------------------------------------------------------------------- main entry


def _check_fresh_target(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    existing = con.execute(
        "select table_name from duckdb_tables() where schema_name = ? and database_name = "
        "current_database() and table_name in (select unnest(?::varchar[]))",
        [RAW_SCHEMA, [t.name for t in SOURCE_TABLES]],
    ).fetchall()
    if existing:
        name = sorted(row[0] for row in existing)[0]
        raise LoadError(f"{db_path.name}: raw.{name} already exists; a snapshot is loaded once")


def _connect(db_path: Path, config: Mapping[str, str] | None) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(db_path), config=dict(config or {}))
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise LoadError(f"{db_path.name}: cannot open DuckDB database ({first})") from None
    con.execute("set TimeZone = 'UTC'")
    # A raw table is a set of rows: its order is not part of any contract (rejects keep
    # their file line numbers), and dropping the ordering guarantee lets DuckDB's
    # parallel CSV reader write without reordering (~15 % faster on large exports).
    con.execute("set preserve_insertion_order = false")
    return con


def _load_sqlite_extension(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("load sqlite_scanner")
    except duckdb.Error:
        import duckdb_extensions

        duckdb_extensions.import_extension("sqlite_scanner")
        con.execute("load sqlite_scanner")


def _remove_db_files(db_path: Path) -> None:
    for candidate in (db_path, db_path.with_name(db_path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def load_raw(
    data_dir: Path,
    db_path: Path,
    run_id: str,
    *,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
    ingested_at: datetime | None = None,
    duckdb_config: Mapping[str, str] | None = None,
) -> LoadReport:
    """Load every declared source table of ``data_dir`` into ``raw`` of ``db_path``.

    All or nothing: on any failure a :class:`LoadError` is raised, the transaction is
    rolled back and a database file created by this call is removed. ``duckdb_config``
    (e.g. ``memory_limit``, ``temp_directory``) is passed to ``duckdb.connect``, so the
    caller bounds the loader's memory.
    """
    started = time.perf_counter()
    data_dir = Path(data_dir)
    db_path = Path(db_path)
    _validate_arguments(run_id, max_reject_share)
    if not data_dir.is_dir():
        raise LoadError(f"data directory not found: {data_dir}")
    stamp = _to_naive_utc(ingested_at)

    # Preflight: every file, table and column is checked before the database is touched.
    sqlite_path, sqlite_drift, sqlite_extras = _plan_sqlite(data_dir)
    csv_plans = [_plan_csv(table, data_dir) for table in EVENT_EXPORT_TABLES]

    files = [sqlite_path, *(plan.path for plan in csv_plans)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashes: dict[Path, Future[str]] = {path: pool.submit(_sha256, path) for path in files}
        db_existed = db_path.exists()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect(db_path, duckdb_config)
        try:
            # The app database is attached read-only (values as text, typed and checked
            # here) outside the transaction: DuckDB cannot detach inside one.
            _load_sqlite_extension(con)
            con.execute("set sqlite_all_varchar = true")
            con.execute(
                f"attach {_sql_str(str(sqlite_path))} as _load_app_db (type sqlite, read_only)"
            )
            report = _load_in_transaction(
                con, db_path, run_id, stamp, max_reject_share, sqlite_path, sqlite_drift,
                sqlite_extras, csv_plans, hashes,
            )
        except BaseException as exc:
            for pending in hashes.values():
                pending.cancel()
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            con.close()
            if not db_existed:
                _remove_db_files(db_path)
            if isinstance(exc, LoadError):
                raise
            if isinstance(exc, duckdb.Error):
                first = str(exc).splitlines()[0]
                raise LoadError(f"load into {db_path.name} failed: {first}") from None
            raise
        with contextlib.suppress(duckdb.Error):  # committed: nothing below may undo it
            con.execute("detach _load_app_db")
        con.close()
    report = LoadReport(
        run_id=report.run_id,
        ingested_at=report.ingested_at,
        tables=report.tables,
        schema_drift=report.schema_drift,
        warnings=report.warnings,
        db_path=db_path,
        duration_s=round(time.perf_counter() - started, 3),
    )
    logger.info("loaded %d rows (%d rejected) from %d tables into %s in %.2f s",
                report.rows_loaded, report.rows_rejected, len(report.tables), db_path,
                report.duration_s)
    return report


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    run_id: str,
    stamp: datetime,
    max_reject_share: float,
    sqlite_path: Path,
    sqlite_drift: tuple[dict, ...],
    sqlite_extras: dict[str, tuple[str, ...]],
    csv_plans: list[_CsvPlan],
    hashes: dict[Path, Future[str]],
) -> LoadReport:
    con.execute("begin transaction")
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"create schema if not exists {OPS_SCHEMA}")
    _check_fresh_target(con, db_path)
    for ddl in _DDL_OPS:
        con.execute(ddl)

    drift = [*sqlite_drift]
    for plan in csv_plans:
        drift.extend(plan.drift)
    warnings: list[str] = [
        f"{d['source_file']}: schema drift in {d['table_name']}: column {d['column_name']!r} "
        f"{d['change']} ({d['detail']})"
        for d in drift
    ]
    for message in warnings:
        logger.warning("%s", message)

    loads: list[TableLoad] = []
    reject_rows: list[tuple] = []

    def finish(table: SourceTable, path: Path, started_at: datetime, t0: float,
               rows_loaded: int, rejects: list[_Reject]) -> None:
        rejected = len(rejects)
        total = rows_loaded + rejected
        share = rejected / total if total else 0.0
        table_drift = [d for d in drift if d["table_name"] == table.name]
        messages: list[str] = []
        if rejected:
            summary = (f"{table.file_name}: {rejected} of {total} rows rejected "
                       f"({_percent(share)})")
            if table.system == "app_db":
                summary = (f"{APP_DB_FILE} table {table.name}: {rejected} of {total} rows "
                           f"rejected ({_percent(share)})")
            first = rejects[0].describe()
            if share > max_reject_share:
                raise LoadError(
                    f"{summary} exceeds the {_percent(max_reject_share)} threshold; "
                    f"first: {first}",
                    table=table.name,
                    rejects=[r.record(table, path.name) for r in rejects[:REJECTS_SAMPLE]],
                )
            message = (f"{summary} within the {_percent(max_reject_share)} threshold; "
                       f"first: {first}")
            warnings.append(message)
            logger.warning("%s", message)
            messages.append(message)
        if total == 0:
            message = f"{table.file_name}: no rows ({table.name} is empty)"
            warnings.append(message)
            logger.warning("%s", message)
            messages.append(message)
        if table_drift:
            messages.append(f"schema drift: {len(table_drift)} column change(s)")
        for reject in rejects:
            reject_rows.append((run_id, table.name, path.name, reject.line, reject.column_name,
                                reject.error_type, reject.reason, reject.raw_text))
        loads.append(TableLoad(
            table=table.name,
            source_file=path.name,
            rows_loaded=rows_loaded,
            rows_rejected=rejected,
            sha256=hashes[path].result(),
            bytes=path.stat().st_size,
            duration_s=round(time.perf_counter() - t0, 3),
            status=STATUS_WARN if messages else STATUS_OK,
            source_system=table.system,
            started_at=started_at,
            message="; ".join(messages),
        ))

    for table in APP_DB_TABLES:
        started_at, t0 = _to_naive_utc(None), time.perf_counter()
        rows_loaded, rejects = _load_sqlite_table(con, table, [stamp, run_id, sqlite_path.name],
                                                  sqlite_extras.get(table.name, ()))
        finish(table, sqlite_path, started_at, t0, rows_loaded, rejects)

    for plan in csv_plans:
        started_at, t0 = _to_naive_utc(None), time.perf_counter()
        try:
            rows_loaded, rejects = _load_csv(con, plan, [stamp, run_id, plan.path.name])
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")
            raise LoadError(f"{plan.table.file_name}: cannot parse CSV: {first}",
                            table=plan.table.name) from None
        finish(plan.table, plan.path, started_at, t0, rows_loaded, rejects)
    con.execute("drop table if exists _load_rejects")
    con.execute("drop table if exists _load_scans")

    con.executemany(
        f"insert into {OPS_SCHEMA}.ingestion_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        [
            (run_id, t.table, t.source_system, t.source_file, t.sha256, t.bytes, t.rows_loaded,
             t.rows_rejected, t.started_at, t.duration_s, t.status, t.message or None)
            for t in loads
        ],
    )
    if drift:
        con.executemany(
            f"insert into {OPS_SCHEMA}.source_schema_drift values (?, ?, ?, ?, ?, ?)",  # noqa: S608
            [(run_id, d["table_name"], d["source_file"], d["column_name"], d["change"],
              d["detail"]) for d in drift],
        )
    if reject_rows:
        con.executemany(
            f"insert into {RAW_SCHEMA}.{REJECTS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            reject_rows,
        )
    con.execute("commit")
    return LoadReport(
        run_id=run_id,
        ingested_at=stamp,
        tables=tuple(loads),
        schema_drift=tuple(dict(d) for d in drift),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- CLI


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad arguments in one line (exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="load_raw.py",
        description="Load one run's source files into schema raw of a DuckDB file.",
    )
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="the run's data folder (app.sqlite + <table>.csv)")
    parser.add_argument("--db", type=Path, required=True, help="DuckDB file to load into")
    parser.add_argument("--run-id", required=True, help="run id, [A-Za-z0-9_-]{1,64}")
    parser.add_argument("--max-reject-share", type=float, default=DEFAULT_MAX_REJECT_SHARE,
                        help="fail a table whose rejected share exceeds this (default 0.01)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:  # bad arguments exit 2 before anything is touched; load_raw checks them again
        _validate_arguments(args.run_id, args.max_reject_share)
    except LoadError as exc:
        sys.stderr.write(f"load_raw.py: error: {exc}\n")
        return 2
    try:
        report = load_raw(args.data_dir, args.db, args.run_id,
                          max_reject_share=args.max_reject_share)
    except LoadError as exc:
        sys.stderr.write(f"load_raw.py: {exc}\n")
        return 1
    except Exception as exc:  # never a traceback on the CLI
        logger.debug("unexpected failure", exc_info=True)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"load_raw.py: unexpected error: {first}\n")
        return 1
    for message in report.warnings:
        sys.stderr.write(f"warning: {message}\n")
    print(
        f"loaded {report.rows_loaded} rows ({report.rows_rejected} rejected) from "
        f"{len(report.tables)} tables into {args.db} in {report.duration_s:.2f} s "
        f"(run {report.run_id})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
