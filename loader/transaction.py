"""The load itself: one DuckDB transaction, all or nothing (see :mod:`loader`)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from foundation import pii
from foundation.ops_tables import (
    OPS_SCHEMA,
    RAW_SCHEMA,
    REJECTS_TABLE,
    insert_loader_rows,
    loader_ddl,
)
from foundation.source_tables import (
    APP_DB_FILE,
    APP_DB_TABLES,
    EVENT_EXPORT_TABLES,
    SOURCE_TABLES,
    SourceTable,
)
from loader.plan import CsvPlan, SqlitePlan, plan_csv, plan_sqlite, validate_arguments
from loader.rejects import Reject
from loader.report import (
    DEFAULT_MAX_REJECT_SHARE,
    REJECTS_SAMPLE,
    STATUS_OK,
    STATUS_WARN,
    LoadError,
    LoadReport,
    TableLoad,
)
from loader.sources import LocalSourceFiles, SourceFile, SourceFiles
from loader.sql import load_csv, load_sqlite_table, sql_str

logger = logging.getLogger(__name__)
# The library idiom: without it, Python's last-resort handler prints every warning on
# stderr when no logging is configured (the CLI), and main() prints them again itself.
logger.addHandler(logging.NullHandler())


def _to_naive_utc(moment: datetime | None) -> datetime:
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _digest(pool: ThreadPoolExecutor, sources: SourceFiles, file: SourceFile) -> Future[str]:
    """The file's sha256: the one its source already knows from the bytes (fetched and
    verified), else computed beside the load from the bytes the source holds."""
    if file.sha256 is not None:
        known: Future[str] = Future()
        known.set_result(file.sha256)
        return known
    return pool.submit(sources.digest, file)


def percent(share: float) -> str:
    return f"{share * 100:.2f} %"


def _check_fresh_target(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    existing = con.execute(
        "select table_name from duckdb_tables() where schema_name = ? and database_name = "
        "current_database() and table_name in (select unnest(?::varchar[]))",
        [RAW_SCHEMA, [t.name for t in SOURCE_TABLES]],
    ).fetchall()
    if existing:
        name = sorted(row[0] for row in existing)[0]
        raise LoadError(f"{db_path.name}: raw.{name} already exists; a snapshot is loaded once")


#: the DuckDB settings a caller may pass: what bounds the load's memory and threads. A
#: profiling or logging setting would record the statements' plans, into which DuckDB
#: folds the PII key's pads (:mod:`foundation.pii`), so it is refused, as is any other.
LOADER_SETTINGS = frozenset({"memory_limit", "temp_directory", "max_temp_directory_size",
                             "threads"})


def _check_settings(config: Mapping[str, str] | None) -> None:
    refused = sorted(set(config or {}) - LOADER_SETTINGS)
    if refused:
        raise LoadError(f"DuckDB setting {refused[0]!r} is not one the loader takes "
                        f"({', '.join(sorted(LOADER_SETTINGS))})")


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
    data_dir: Path | SourceFiles,
    db_path: Path,
    run_id: str,
    *,
    pii_key: str,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
    ingested_at: datetime | None = None,
    duckdb_config: Mapping[str, str] | None = None,
) -> LoadReport:
    """Load every declared source table of ``data_dir`` into ``raw`` of ``db_path``.

    ``data_dir`` is the run's local folder, or any :class:`~loader.sources.SourceFiles`
    (the pipeline's adapter for object storage). All or nothing: on any failure a
    :class:`LoadError` is raised, the transaction is rolled back and a database file
    created by this call is removed. ``duckdb_config`` (only :data:`LOADER_SETTINGS`:
    ``memory_limit``, ``temp_directory``, ...) is passed to ``duckdb.connect``, so the
    caller bounds the loader's memory. ``pii_key`` keys the hashes that replace PII
    columns (:mod:`foundation.pii`); it is used on this call's connection only.
    """
    started = time.perf_counter()
    db_path = Path(db_path)
    validate_arguments(run_id, max_reject_share)
    _check_settings(duckdb_config)
    if not isinstance(pii_key, str) or not pii_key.strip():
        raise LoadError(f"no PII key: the loader hashes emails and phones with the home's "
                        f"secret key (set {pii.KEY_ENV})")
    keyed_hash = pii.KeyedHash.from_key(pii_key)
    sources = data_dir if isinstance(data_dir, SourceFiles) else LocalSourceFiles(Path(data_dir))
    stamp = _to_naive_utc(ingested_at)

    # Preflight: every file, table and column is checked before the database is touched.
    sqlite_plan = plan_sqlite(sources)
    sqlite_file = sqlite_plan.source
    csv_plans = [plan_csv(table, sources) for table in EVENT_EXPORT_TABLES]

    files = [sqlite_file, *(plan.source for plan in csv_plans)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashes = {file.name: _digest(pool, sources, file) for file in files}
        db_existed = db_path.exists()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect(db_path, duckdb_config)
        try:
            sources.prepare(con)
            # The app database is attached read-only (values as text, typed and checked
            # here) outside the transaction: DuckDB cannot detach inside one.
            _load_sqlite_extension(con)
            con.execute("set sqlite_all_varchar = true")
            con.execute(
                f"attach {sql_str(sqlite_file.location)} as _load_app_db "
                "(type sqlite, read_only)"
            )
            report = _load_in_transaction(
                con, db_path, run_id, stamp, max_reject_share, sqlite_plan, csv_plans,
                hashes, sources, keyed_hash,
            )
        except BaseException as exc:
            for pending in hashes.values():
                pending.cancel()
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            sources.release(con)
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
        sources.release(con)
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
    sqlite_plan: SqlitePlan,
    csv_plans: list[CsvPlan],
    hashes: dict[str, Future[str]],
    sources: SourceFiles,
    keyed_hash: pii.KeyedHash,
) -> LoadReport:
    con.execute("begin transaction")
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"create schema if not exists {OPS_SCHEMA}")
    _check_fresh_target(con, db_path)
    for ddl in loader_ddl():
        con.execute(ddl)

    drift = [*sqlite_plan.drift]
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
    reject_rows: list[dict[str, Any]] = []

    def finish(table: SourceTable, file: SourceFile, started_at: datetime, t0: float,
               rows_loaded: int, rejects: list[Reject]) -> None:
        rejected = len(rejects)
        total = rows_loaded + rejected
        share = rejected / total if total else 0.0
        table_drift = [d for d in drift if d["table_name"] == table.name]
        messages: list[str] = []
        if rejected:
            summary = (f"{table.file_name}: {rejected} of {total} rows rejected "
                       f"({percent(share)})")
            if table.system == "app_db":
                summary = (f"{APP_DB_FILE} table {table.name}: {rejected} of {total} rows "
                           f"rejected ({percent(share)})")
            first = rejects[0].describe()
            if share > max_reject_share:
                raise LoadError(
                    f"{summary} exceeds the {percent(max_reject_share)} threshold; "
                    f"first: {first}",
                    table=table.name,
                    rejects=[r.record(table, file.name) for r in rejects[:REJECTS_SAMPLE]],
                )
            message = (f"{summary} within the {percent(max_reject_share)} threshold; "
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
            reject_rows.append({"run_id": run_id, "table_name": table.name,
                                "source_file": file.name, "line": reject.line,
                                "column_name": reject.column_name,
                                "error_type": reject.error_type, "reason": reject.reason,
                                "raw_text": reject.raw_text})
        loads.append(TableLoad(
            table=table.name,
            source_file=file.name,
            rows_loaded=rows_loaded,
            rows_rejected=rejected,
            sha256=hashes[file.name].result(),
            bytes=file.size,
            duration_s=round(time.perf_counter() - t0, 3),
            status=STATUS_WARN if messages else STATUS_OK,
            source_system=table.system,
            started_at=started_at,
            message="; ".join(messages),
        ))

    app_db = sqlite_plan.source
    for table in APP_DB_TABLES:
        started_at, t0 = _to_naive_utc(None), time.perf_counter()
        rows_loaded, rejects = load_sqlite_table(
            con, table, [stamp, run_id, app_db.name], keyed_hash,
            sqlite_plan.extras.get(table.name, ()), source_rows=sqlite_plan.rows[table.name])
        finish(table, app_db, started_at, t0, rows_loaded, rejects)

    for plan in csv_plans:
        started_at, t0 = _to_naive_utc(None), time.perf_counter()
        try:
            rows_loaded, rejects = load_csv(con, plan, [stamp, run_id, plan.source.name],
                                            keyed_hash)
        except duckdb.Error as exc:
            where = sources.read_error(exc, plan.source)
            first = str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")
            raise LoadError(where or f"{plan.table.file_name}: cannot parse CSV: {first}",
                            table=plan.table.name) from None
        finish(plan.table, plan.source, started_at, t0, rows_loaded, rejects)
    con.execute("drop table if exists _load_rejects")
    con.execute("drop table if exists _load_scans")

    insert_loader_rows(con, OPS_SCHEMA, "ingestion_log", [
        {"run_id": run_id, "table_name": t.table, "source_system": t.source_system,
         "source_file": t.source_file, "sha256": t.sha256, "bytes": t.bytes,
         "rows_loaded": t.rows_loaded, "rows_rejected": t.rows_rejected,
         "started_at": t.started_at, "duration_s": t.duration_s, "status": t.status,
         "message": t.message or None}
        for t in loads])
    insert_loader_rows(con, OPS_SCHEMA, "source_schema_drift", [
        {"run_id": run_id, **{key: d[key] for key in ("table_name", "source_file",
                                                       "column_name", "change", "detail")}}
        for d in drift])
    insert_loader_rows(con, RAW_SCHEMA, REJECTS_TABLE, reject_rows)
    con.execute("commit")
    return LoadReport(
        run_id=run_id,
        ingested_at=stamp,
        tables=tuple(loads),
        schema_drift=tuple(dict(d) for d in drift),
        warnings=tuple(warnings),
    )

