"""Benchmark of the synthetic data generator, with baselines measured in the same run.

Prints, for ``--users`` (default 200,000):

* output rows per second over all tables (target >= 1,000,000);
* generation time / the I/O floor, i.e. ``pyarrow.csv.write_csv`` of the very same tables
  (target <= 3x); generation and floor alternate ``--repeat`` times (default 3) and the
  best of each is compared, so a burst of load on a shared machine hits both alike;
* speed-up per row over a row-by-row Faker baseline timed on a small sample
  (target >= 200x);
* peak RSS of the CLI at ``--rss-users`` (default 1,000,000) in a subprocess
  (target <= 2 GiB).

Usage: ``python bench/bench_generator.py [--users N] [--repeat N]
[--rss-users N | --skip-rss] [--faker-rows N] [--strict]``. Results are also written to
``bench/out/bench_generator.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from faker import Faker

from foundation.cli_values import positive_int
from foundation.paths import REPO_ROOT as REPO
from foundation.source_tables import APP_DB_TABLES, EVENT_EXPORT_TABLES
from generator.data_generator import GeneratorConfig, generate_dataset
from generator.writers import csv_schema

AS_OF = dt.date(2026, 11, 1)
TARGET_ROWS_PER_S = 1_000_000
TARGET_FLOOR_RATIO = 3.0
TARGET_FAKER_SPEEDUP = 200.0
TARGET_RSS_BYTES = 2 * 1024**3


def _load_tables(out_dir: Path) -> list[tuple[str, pa.Table]]:
    """The generated tables back in memory, typed as the generator hands them to Arrow."""
    tables = []
    for spec in EVENT_EXPORT_TABLES:
        schema = csv_schema(spec)
        tables.append((spec.name, pacsv.read_csv(
            out_dir / spec.file_name,
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: f.type for f in schema}, strings_can_be_null=True))))
    con = sqlite3.connect(out_dir / "app.sqlite")
    for spec in APP_DB_TABLES:
        cursor = con.execute(f'select * from "{spec.name}"')  # noqa: S608 - declared names
        rows = cursor.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in spec.columns]
        tables.append((spec.name, pa.table(
            {c.name: pa.array(list(v), csv_schema(spec).field(c.name).type if c.type != "boolean"
                              else pa.int64())
             for c, v in zip(spec.columns, columns, strict=True)})))
    con.close()
    return tables


def io_floor_seconds(tables: list[tuple[str, pa.Table]], out_dir: Path) -> float:
    """Seconds pyarrow needs just to write these tables to CSV."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for name, table in tables:
        pacsv.write_csv(table, out_dir / f"{name}.csv")
    return time.perf_counter() - start


def faker_seconds_per_row(n_rows: int, seed: int = 1) -> float:
    """Row-by-row baseline: each row of an app-event and a user built with Faker calls."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    start_at = dt.datetime(2025, 5, 10, tzinfo=dt.UTC)
    end_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = []
    start = time.perf_counter()
    for i in range(n_rows):
        if i % 2:
            rows.append((i, fake.pyint(1, 10**6), fake.uuid4(), fake.uuid4(),
                         fake.random_element(("app_open", "receipt_scan", "rewards_view")),
                         fake.date_time_between(start_at, end_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         fake.random_element(("ios", "android")), fake.numerify("#.#.#"),
                         json.dumps({"source": fake.random_element(("push", "direct"))})))
        else:
            rows.append((i, fake.email(), fake.first_name(), fake.last_name(),
                         fake.phone_number(), fake.state_abbr(),
                         fake.random_element(("parent", "teacher", "supporter")),
                         fake.uuid4(), fake.bothify("????####"),
                         fake.date_time_between(start_at, end_at).isoformat()))
    return (time.perf_counter() - start) / max(n_rows, 1)


def peak_rss_bytes(users: int, out_dir: Path) -> tuple[int, float]:
    """Peak RSS (bytes) and wall time of the CLI generating ``users`` in a subprocess."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "generator" / "data_generator.py"), "--out-dir",
         str(out_dir), "--users", str(users), "--as-of", AS_OF.isoformat(), "--seed", "1"],
        check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, elapsed


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=positive_int, default=200_000)
    parser.add_argument("--repeat", type=positive_int, default=3,
                        help="generation/floor pairs, alternated; the best of each counts")
    parser.add_argument("--rss-users", type=positive_int, default=1_000_000)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--faker-rows", type=positive_int, default=2_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    results: dict[str, object] = {"users": args.users}
    with tempfile.TemporaryDirectory(prefix="bench_generator_") as tmp:
        tmp_path = Path(tmp)
        config = GeneratorConfig(seed=1, users=args.users, as_of=AS_OF)
        gen_runs: list[tuple[float, float]] = []
        floor_runs: list[float] = []
        tables: list[tuple[str, pa.Table]] = []
        for attempt in range(args.repeat):
            out_dir = tmp_path / f"run{attempt}"
            start, cpu_start = time.perf_counter(), time.process_time()
            counts = generate_dataset(out_dir, config)
            gen_runs.append((time.perf_counter() - start, time.process_time() - cpu_start))
            if not tables:
                tables = _load_tables(out_dir)
            shutil.rmtree(out_dir)
            floor_runs.append(io_floor_seconds(tables, tmp_path / "floor"))
        gen_s, gen_cpu_s = min(gen_runs)
        floor_s = min(floor_runs)
        rows = sum(counts.values())
        faker_row_s = faker_seconds_per_row(args.faker_rows)
        gen_row_s = gen_s / rows
        results.update(rows=rows, repeat=len(gen_runs), generation_s=round(gen_s, 3),
                       generation_runs_s=[round(wall, 3) for wall, _ in gen_runs],
                       generation_cpu_s=round(gen_cpu_s, 3), load_average=os.getloadavg()[0],
                       rows_per_s=round(rows / gen_s), io_floor_s=round(floor_s, 3),
                       io_floor_runs_s=[round(wall, 3) for wall in floor_runs],
                       floor_ratio=round(gen_s / floor_s, 2),
                       faker_row_us=round(faker_row_s * 1e6, 2),
                       generator_row_us=round(gen_row_s * 1e6, 4),
                       faker_speedup=round(faker_row_s / gen_row_s, 1))
        checks = {
            "rows_per_s": rows / gen_s >= TARGET_ROWS_PER_S,
            "floor_ratio": gen_s / floor_s <= TARGET_FLOOR_RATIO,
            "faker_speedup": faker_row_s / gen_row_s >= TARGET_FAKER_SPEEDUP,
        }
        if not args.skip_rss:
            rss, rss_wall = peak_rss_bytes(args.rss_users, tmp_path / "rss")
            results.update(rss_users=args.rss_users, peak_rss_mib=round(rss / 2**20, 1),
                           rss_run_s=round(rss_wall, 2))
            checks["peak_rss"] = rss <= TARGET_RSS_BYTES

    print(f"generator benchmark at --users {args.users} ({rows:,} rows over all tables), "
          f"best of {len(gen_runs)} alternated runs")
    print(f"  generation            {gen_s:8.2f} s   {rows / gen_s:12,.0f} rows/s   "
          f"target >= {TARGET_ROWS_PER_S:,}  {_verdict(checks['rows_per_s'])}")
    print(f"  generation CPU time   {gen_cpu_s:8.2f} s (all threads)   "
          f"{rows / gen_cpu_s:12,.0f} rows per CPU-second; 1-min load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  I/O floor (write_csv) {floor_s:8.2f} s   ratio {gen_s / floor_s:6.2f}x         "
          f"target <= {TARGET_FLOOR_RATIO}x  {_verdict(checks['floor_ratio'])}")
    print("  all runs: generation " + ", ".join(f"{wall:.2f}" for wall, _ in gen_runs)
          + " s; floor " + ", ".join(f"{wall:.2f}" for wall in floor_runs) + " s")
    print(f"  Faker row-by-row      {faker_row_s * 1e6:8.1f} us/row vs {gen_row_s * 1e6:.3f} "
          f"us/row: {faker_row_s / gen_row_s:,.0f}x faster   target >= {TARGET_FAKER_SPEEDUP:.0f}x"
          f"  {_verdict(checks['faker_speedup'])}")
    if "peak_rss" in checks:
        print(f"  peak RSS at --users {args.rss_users:,}: {results['peak_rss_mib']} MiB "
              f"({results['rss_run_s']} s)   target <= 2048 MiB  {_verdict(checks['peak_rss'])}")
    results["checks"] = checks
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_generator.json").write_text(json.dumps(results, indent=2) + "\n")
    return 1 if args.strict and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
