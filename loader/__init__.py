"""Load one run's source files into schema ``raw`` of a DuckDB file, all or nothing.

Sources (declared once in ``foundation/source_tables.py``):

* the SQLite app database ``app.sqlite`` (schools, users, products, referrals,
  redemptions), read through DuckDB's SQLite scanner;
* the CSV event exports ``<table>.csv`` (app_events, receipts, receipt_items,
  rewards_ledger), streamed through DuckDB's native ``read_csv`` with the DECLARED
  column types (never type auto-detection), matched to the header by column name.

Every raw table is ``raw.<table>`` with the declared columns in declared order and
types (PII masked, below), followed by three stamps:

* ``_ingested_at TIMESTAMP``: one timestamp per load, naive ``TIMESTAMP`` holding UTC
  (the platform's convention for every timestamp);
* ``_run_id VARCHAR``: the run that loaded the row;
* ``_source_file VARCHAR``: the file name relative to the run's data folder
  (``receipts.csv``, ``app.sqlite``).

Then, only when the source carries columns the declaration does not, one ``VARCHAR``
column per extra column, under the source's own name (quoted), in source order, AFTER
the stamps: the declared columns and stamps keep their positions in every run.

PII never lands: a column declared ``pii="hash"`` (users' email and phone) is replaced by
``<column>_hash``, the HMAC-SHA256 of its lower-cased, trimmed value under the home's
key (``pii_key``; :mod:`foundation.pii`), and a ``pii="drop"`` column (names) is left
out, in the statement that reads the source. So the DuckDB file (and every snapshot,
ops table, rejected-row record and dbt artefact made from it) never holds the plaintext,
while the hashes still join across tables and runs of one home. The source files in
``data/<run_id>/`` keep the plaintext: they are the source systems' exports, never
published.

Bookkeeping written in the same transaction:

* ``ops.ingestion_log``: one row per table (hash, bytes, rows loaded/rejected, timing);
* ``ops.source_schema_drift``: one row per column that differs from the declaration;
* ``raw._rejects``: one row per rejected source row (first error of that row); a row of a
  table that declares PII is recorded masked like raw (SQLite) or without its text (CSV).

Rules:

* The whole load runs in ONE DuckDB transaction; any failure rolls it back, and a
  database file that did not exist before the load is removed again, so a failed load
  never leaves a half-written snapshot.
* A missing file, table or declared column fails the load. An extra column is loaded
  as text (see above) and recorded as schema drift (``change='added'``), returned in the
  report and logged as a warning. An extra column whose name is empty or equals
  (case-insensitively, as DuckDB compares names) a declared, stamp or earlier extra
  column cannot be loaded: it is recorded as drift with ``not loaded into raw``; so is
  every extra column of a table that declares PII (it may hold PII too).
* Malformed rows (wrong type, wrong field count, invalid UTF-8, unterminated quote) are
  rejected into ``raw._rejects``; the load fails when a table's rejected share exceeds
  ``max_reject_share`` (default 1 %). The load is then rolled back, so ``raw._rejects``
  is gone too: the :class:`LoadError` carries the first :data:`REJECTS_SAMPLE` rejected
  records of that table (``err.rejects``) for the caller to keep.
* The run id is checked by ``foundation.run_id.validate_run_id`` (the project's one rule).
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

CLI: ``load-raw --data-dir DIR --db PATH --run-id ID`` (the console script; the key in
``$CARTON_CAPS_PII_KEY``), or
``python duckdb/load_raw.py ...``, a thin wrapper kept for the runbook (``duckdb/`` must
never become a package: it would shadow the ``duckdb`` library).

The package, by concern: :mod:`loader.plan` (arguments, files, tables and columns
checked before DuckDB is touched), :mod:`loader.rejects` (rejected rows and their
reasons), :mod:`loader.sql` (the SQL that creates and fills raw tables),
:mod:`loader.transaction` (the load transaction, :func:`load_raw`), :mod:`loader.report`
(:class:`LoadError`, :class:`LoadReport`), :mod:`loader.cli` (:func:`main`). The
bookkeeping tables' columns are declared in :mod:`foundation.ops_tables`.
"""

from loader.cli import main
from loader.report import (
    DEFAULT_MAX_REJECT_SHARE,
    MAX_SAMPLE_TEXT,
    REJECTS_SAMPLE,
    LoadError,
    LoadReport,
    TableLoad,
)
from loader.transaction import load_raw

__all__ = [
    "DEFAULT_MAX_REJECT_SHARE",
    "MAX_SAMPLE_TEXT",
    "REJECTS_SAMPLE",
    "LoadError",
    "LoadReport",
    "TableLoad",
    "load_raw",
    "main",
]
