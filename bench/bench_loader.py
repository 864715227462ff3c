"""Benchmark the raw loader against a bare DuckDB ``read_csv`` + ``create table as``.

Writes a synthetic run folder into a temporary directory (``app_events.csv`` with
``--rows`` rows, default 10 million, plus small versions of every other source table,
all built from ``foundation/source_tables.py`` with DuckDB's ``COPY``), then times, best
of ``--repeat`` runs each, in the same process:

* baseline: ``create table t as select * from read_csv(<file>)`` (auto-detected types)
  for every CSV of the folder, in a fresh DuckDB file, inside one transaction;
* loader: ``load_raw(data_dir, db_path, run_id)`` into a fresh DuckDB file (declared
  types, rejects capture, stamps, SHA-256 of every file, ingestion log, one transaction).

Prints rows/s and MB/s of both and the ratio loader/baseline (target >= 0.80).

    .venv/bin/python bench/bench_loader.py [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import duckdb
import loader as loader_package
from foundation.cli_values import positive_int
from foundation.source_tables import (
    APP_DB_FILE,
    APP_DB_TABLES,
    EVENT_EXPORT_TABLES,
    Column,
)

TARGET_RATIO = 0.8
SMALL_ROWS = 1_000


def _value_sql(column: Column) -> str:
    """A vectorised DuckDB expression of row number ``i`` for one declared column."""
    if column.type in ("bigint", "integer"):
        if column.nullable:
            return "case when i % 7 = 0 then null else (i * 2654435761) % 500000 end"
        return "i" if column.name.endswith("_id") else "(i % 997)::bigint"
    if column.type == "double":
        return "round((i % 1000) / 1000.0, 3)"
    if column.type == "boolean":
        return "i % 2 = 0"
    if column.type == "timestamp":
        return ("strftime(timestamp '2024-03-01' + to_seconds(i * 3), "
                "'%Y-%m-%dT%H:%M:%SZ')")
    if column.type == "json":
        return ("case when i % 3 = 0 then '{\"screen\":\"home\",\"n\":' "
                "|| (i % 100)::varchar || '}' end")
    return f"'{column.name}-' || (i % 100003)::varchar"


def write_bench_data(data_dir: Path, event_rows: int) -> dict[str, int]:
    """Write app.sqlite + every CSV; app_events gets ``event_rows`` rows."""
    data_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    con = duckdb.connect()
    for table in EVENT_EXPORT_TABLES:
        n = event_rows if table.name == "app_events" else SMALL_ROWS
        select = ", ".join(f"{_value_sql(c)} as \"{c.name}\"" for c in table.columns)
        target = str(data_dir / table.file_name).replace("'", "''")
        con.execute(
            f"copy (select {select} from range({n}) t(i)) to '{target}' (header, delimiter ',')"  # noqa: S608
        )
        rows[table.name] = n
    con.close()
    lite = sqlite3.connect(data_dir / APP_DB_FILE)
    try:
        for table in APP_DB_TABLES:
            columns = ", ".join(f'"{c.name}" {c.sqlite_type}' for c in table.columns)
            lite.execute(f'create table "{table.name}" ({columns})')
            values = []
            for i in range(SMALL_ROWS):
                row: list[object] = []
                for c in table.columns:
                    if c.type in ("bigint", "integer", "boolean"):
                        row.append(i % 2 if c.type == "boolean" else i + 1)
                    elif c.type == "double":
                        row.append(i / 10)
                    elif c.type == "timestamp":
                        row.append(f"2025-01-{i % 28 + 1:02d}T10:00:00Z")
                    else:
                        row.append(f"{c.name}-{i}")
                values.append(row)
            marks = ", ".join("?" for _ in table.columns)
            lite.executemany(f'insert into "{table.name}" values ({marks})', values)  # noqa: S608
            rows[table.name] = SMALL_ROWS
        lite.commit()
    finally:
        lite.close()
    return rows


def _fresh(path: Path) -> Path:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)
    return path


def _cpu() -> float:
    """CPU seconds of this process, all threads (DuckDB's workers included)."""
    times = os.times()
    return times.user + times.system


def time_baseline(data_dir: Path, db_path: Path) -> tuple[float, float]:
    con = duckdb.connect(str(_fresh(db_path)))
    started, cpu = time.perf_counter(), _cpu()
    con.execute("begin transaction")
    for table in EVENT_EXPORT_TABLES:
        source = str(data_dir / table.file_name).replace("'", "''")
        con.execute(f'create table "{table.name}" as select * from read_csv(\'{source}\')')  # noqa: S608
    con.execute("commit")
    con.close()  # the loader's time includes closing (checkpointing) its file too
    return time.perf_counter() - started, _cpu() - cpu


def time_loader(loader: ModuleType, data_dir: Path, db_path: Path) -> tuple[float, float]:
    _fresh(db_path)
    started, cpu = time.perf_counter(), _cpu()
    # the hash's cost does not depend on the key
    loader.load_raw(data_dir, db_path, "bench", pii_key="bench-pii-key")
    return time.perf_counter() - started, _cpu() - cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_loader.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=positive_int, default=10_000_000, help="app_events rows")
    parser.add_argument("--repeat", type=positive_int, default=3, help="best of N runs each")
    args = parser.parse_args(argv)
    loader = loader_package
    with tempfile.TemporaryDirectory(prefix="bench_loader_") as tmp:
        tmp_dir = Path(tmp)
        data_dir = tmp_dir / "data"
        started = time.perf_counter()
        rows = write_bench_data(data_dir, args.rows)
        generated_s = time.perf_counter() - started
        csv_rows = sum(rows[t.name] for t in EVENT_EXPORT_TABLES)
        csv_bytes = sum((data_dir / t.file_name).stat().st_size for t in EVENT_EXPORT_TABLES)
        all_rows = sum(rows.values())
        baseline: list[tuple[float, float]] = []
        loaded: list[tuple[float, float]] = []
        for _ in range(args.repeat):  # interleaved so both see the same machine state
            baseline.append(time_baseline(data_dir, tmp_dir / "baseline.duckdb"))
            loaded.append(time_loader(loader, data_dir, tmp_dir / "loader.duckdb"))
        base_s, load_s = min(t[0] for t in baseline), min(t[0] for t in loaded)
        base_cpu, load_cpu = min(t[1] for t in baseline), min(t[1] for t in loaded)
    ratio = base_s / load_s
    cpu_ratio = base_cpu / load_cpu
    mb = csv_bytes / 1e6
    print(f"bench_loader: {args.rows:,} app_events rows + small tables "
          f"({csv_rows:,} CSV rows, {mb:,.0f} MB CSV; generated in {generated_s:.1f} s; "
          f"best of {args.repeat}, interleaved)")
    print(f"  baseline read_csv + create table as : {base_s:7.2f} s  "
          f"{csv_rows / base_s / 1e6:6.2f} M rows/s  {mb / base_s:7.1f} MB/s  "
          f"cpu {base_cpu:6.2f} s  (wall runs: {', '.join(f'{t[0]:.2f}' for t in baseline)})")
    print(f"  load_raw (all {all_rows:,} rows)       : {load_s:7.2f} s  "
          f"{csv_rows / load_s / 1e6:6.2f} M rows/s  {mb / load_s:7.1f} MB/s  "
          f"cpu {load_cpu:6.2f} s  (wall runs: {', '.join(f'{t[0]:.2f}' for t in loaded)})")
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"  ratio load_raw / baseline throughput: {ratio:.2f} wall "
          f"({verdict} the {TARGET_RATIO:.2f} target), {cpu_ratio:.2f} by CPU time "
          f"(less sensitive to other load on a shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
