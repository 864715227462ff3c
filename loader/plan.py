"""Preflight: the arguments, every file, table and column, checked before DuckDB is touched.

The plan of a CSV maps the file's header (matched by name, in file order) to the
declaration in :mod:`foundation.source_tables`; extra source columns become schema drift
and, when their name allows it, a VARCHAR column after the stamps.
"""

from __future__ import annotations

import csv
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

from foundation.run_id import RunIdError, validate_run_id
from foundation.source_tables import APP_DB_FILE, APP_DB_TABLES, SourceTable
from foundation.source_tables import STAMP_COLUMNS as SOURCE_STAMP_COLUMNS
from loader.report import LoadError
from loader.sources import SourceFile, SourceFiles

logger = logging.getLogger(__name__)

# the three stamps every raw table carries after its declared columns: (name, type)
STAMP_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, type_) for name, type_, _description in SOURCE_STAMP_COLUMNS)
EXTRA_LOADED = "column not in the declaration; loaded into raw as VARCHAR"


@dataclass(frozen=True)
class CsvPlan:
    """How to read one CSV: the file's columns in file order, mapped to the declaration."""

    table: SourceTable
    source: SourceFile
    file_columns: tuple[str, ...]  # names DuckDB gives the file's columns, in file order
    file_types: tuple[str, ...]
    drift: tuple[dict, ...] = field(default_factory=tuple)
    # extra columns loaded into raw: (synthetic read_csv name, raw column name)
    extras: tuple[tuple[str, str], ...] = ()


def validate_arguments(run_id: str, max_reject_share: float) -> None:
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


#: bytes of a CSV first read for its header; read again, four times larger, while the
#: header record is not complete (a quoted name may hold a newline)
HEADER_FIRST_BYTES = 64 * 1024
#: a header record longer than this is not one the loader reads on for
MAX_HEADER_BYTES = 1 << 22


def header_record(head: bytes, *, complete: bool) -> bytes | None:
    """The header record at the start of ``head`` (up to and including its line end).

    Lines end at ``\n`` only (CRLF keeps its ``\r``, stripped later); a record goes on
    while a quote is open. None when ``head`` stops before the record ends and more of the
    file can be read (``complete``: ``head`` is the whole file).
    """
    start = 0
    while (end := head.find(b"\n", start)) != -1:
        start = end + 1
        if head[:start].count(b'"') % 2 == 0:
            return head[:start]
    if complete or len(head) > MAX_HEADER_BYTES:
        return head
    return None


def read_csv_header(sources: SourceFiles, file: SourceFile) -> list[str]:
    """The header row of a CSV (BOM, CRLF and quoted names handled).

    Only the first bytes of the file are read (a ranged read for object storage), up to
    the end of the header record, so that bad bytes further down the file are left to the
    row-level reject handling.
    """
    size = HEADER_FIRST_BYTES
    while True:
        head = sources.read_head(file, size)
        raw = header_record(head, complete=len(head) < size)
        if raw is not None:
            break
        size *= 4
    if not raw.strip():
        raise LoadError(f"{file.name}: empty file, no header row")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError(f"{file.name}: header row is not valid UTF-8") from None
    try:
        header = next(csv.reader([text.rstrip("\r\n")]), None)
    except csv.Error as exc:
        raise LoadError(f"{file.name}: unreadable header row ({exc})") from None
    if not header:
        raise LoadError(f"{file.name}: empty file, no header row")
    return [name.strip() for name in header]


def plan_csv(table: SourceTable, sources: SourceFiles) -> CsvPlan:
    file = sources.file(table.file_name)
    if file is None:
        raise LoadError(f"{table.file_name}: file not found in {sources.where}",
                        table=table.name)
    header = read_csv_header(sources, file)
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
    loadable, drift = plan_extras(table, extra_names)
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
    return CsvPlan(table, file, tuple(names), tuple(types), tuple(drift), tuple(extras))


def plan_extras(table: SourceTable, names: Sequence[str]) -> tuple[set[str], list[dict]]:
    """Which extra source columns can be loaded into raw (as VARCHAR), and their drift.

    None of a table that declares PII: an undeclared column next to emails and names may
    hold PII too, and raw holds no plaintext PII, so it lands once it is declared (with
    its masking, if it needs one).
    """
    taken = {name.casefold(): name for name in (*table.column_names,
                                                 *(n for n, _ in STAMP_COLUMNS))}
    loadable: set[str] = set()
    drift: list[dict] = []
    for name in names:
        clash = taken.get(name.casefold())
        if not name:
            detail = "column not in the declaration; not loaded into raw (empty name)"
        elif table.has_pii:
            detail = (f"column not in the declaration; not loaded into raw ({table.name} "
                      "holds PII: declare the column, with its masking, to load it)")
        elif clash is not None:
            detail = ("column not in the declaration; not loaded into raw (its name clashes "
                      f"with column {clash!r})")
        else:
            detail = EXTRA_LOADED
            loadable.add(name)
            taken[name.casefold()] = name
        drift.append(drift_record(table, name, "added", detail))
    return loadable, drift


def drift_record(table: SourceTable, column: str, change: str, detail: str) -> dict:
    return {
        "table_name": table.name,
        "source_file": table.file_name,
        "column_name": column,
        "change": change,
        "detail": detail,
    }


@dataclass(frozen=True)
class SqlitePlan:
    """What the preflight found in app.sqlite."""

    source: SourceFile
    drift: tuple[dict, ...]
    #: per table, the extra columns to load as VARCHAR
    extras: dict[str, tuple[str, ...]]
    #: per table, its rows: SQLite counts them from its b-tree without decoding one, so
    #: the load tells whether any row was rejected without reading the table again
    rows: dict[str, int]


def plan_sqlite(sources: SourceFiles) -> SqlitePlan:
    """Check that app.sqlite holds every declared table and column, and count its rows.

    SQLite needs random access, so the file is always a local one (object storage's copy
    is fetched and verified first, by the caller).
    """
    file = sources.require(APP_DB_FILE)
    path = file.local_path
    if path is None:
        raise LoadError(f"{APP_DB_FILE}: must be a local file (fetch it first), not "
                        f"{file.location}")
    drift: list[dict] = []
    extras: dict[str, tuple[str, ...]] = {}
    rows_by_table: dict[str, int] = {}
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
                    drift.append(drift_record(
                        table, column.name, "type_changed",
                        f"declared {column.sqlite_type}, found "
                        f"{found[column.name] or 'no type'} in {APP_DB_FILE}; values are "
                        f"still loaded as {column.duckdb_type}",
                    ))
            extra_names = [name for name, _decl in rows if name not in table.column_names]
            loadable, extra_drift = plan_extras(table, extra_names)
            drift.extend(extra_drift)
            extras[table.name] = tuple(name for name in extra_names if name in loadable)
            quoted = '"' + table.name.replace('"', '""') + '"'
            rows_by_table[table.name] = con.execute(
                f"select count(*) from {quoted}").fetchone()[0]  # noqa: S608
    except sqlite3.DatabaseError as exc:
        raise LoadError(f"{APP_DB_FILE}: not a readable SQLite database ({exc})") from None
    finally:
        con.close()
    return SqlitePlan(file, tuple(drift), extras, rows_by_table)

