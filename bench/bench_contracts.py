"""Benchmark the contract step on one published run: full scans against dbt's counts.

Evaluates every contract of ``contracts/`` against a run's snapshot twice per round,
alternately (the order flips every round, so neither mode always runs on a warm cache):

* scan: every check through datacontract-cli (and the event-time SLAs in SQL), as before
  :mod:`pipeline.checks.contract_reuse`;
* reuse: the not-null and uniqueness checks that the run's own dbt tests counted are
  taken from ``logs/dbt/<run_id>/target/run_results.json``, and the row counts of tables
  with an event-time SLA are counted in the freshness query
  (:mod:`pipeline.checks.contract_row_counts`), as a run does; the rest is scanned.

Both modes must report the same checks with the same statuses, measured values,
thresholds and severities, row by row, or the benchmark stops with the first difference.
Prints the median wall time of each mode and their ratio (reuse / scan, measured in the
same session) and writes ``bench/out/contracts_<UTC time>.json``.

    .venv/bin/python bench/bench_contracts.py --home HOME --run-id RUN_ID [--repeat 3]
        [--out-dir bench/out]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from foundation.cli_values import positive_int
from foundation.paths import REPO_ROOT, RunPaths
from pipeline.checks import contract_reuse, contracts
from pipeline.records import manifest as run_manifest
from pipeline.transform import artifacts as dbt_artifacts

OUT_DIR = REPO_ROOT / "bench" / "out"
COMPARED = ("status", "measured", "threshold", "severity", "owner")
#: measured against the wall clock (the age of ``_ingested_at`` now): moves between two
#: evaluations, so only its status is compared
WALL_CLOCK_CHECK = "servicelevel_freshness"


def _rows(report: contracts.ContractReport) -> dict[tuple[Any, ...], contracts.ContractResult]:
    return {(r.contract_id, r.table, r.column, r.check, r.check_type): r
            for r in report.results}


def first_difference(reused: contracts.ContractReport,
                     scanned: contracts.ContractReport) -> str | None:
    """The first way the two reports differ as a user reads them, or None."""
    with_dbt, full = _rows(reused), _rows(scanned)
    if len(with_dbt) != len(reused.results) or len(full) != len(scanned.results):
        return "a check is reported twice"
    if with_dbt.keys() != full.keys():
        return f"checks differ: {sorted(with_dbt.keys() ^ full.keys())[:3]}"
    for key, row in with_dbt.items():
        for name in COMPARED:
            if name == "measured" and row.check_type == WALL_CLOCK_CHECK:
                continue
            if getattr(row, name) != getattr(full[key], name):
                return f"{key} {name}: {getattr(row, name)!r} != {getattr(full[key], name)!r}"
    return None


def _timed(snapshot: Path, as_of: date, days: int, measured: dict[Any, Any] | None
           ) -> tuple[float, contracts.ContractReport]:
    started = time.perf_counter()
    # scan (no dbt counts): every check through datacontract-cli, row counts included
    report = contracts.evaluate(snapshot, as_of=as_of, days=days, measured_by_dbt=measured,
                                count_with_freshness=measured is not None)
    return time.perf_counter() - started, report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="the runs' home")
    parser.add_argument("--run-id", required=True, help="a published run of that home")
    parser.add_argument("--repeat", type=positive_int, default=3,
                        help="rounds (both modes each), at least 1")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    paths = RunPaths(home=args.home, run_id=args.run_id)
    try:  # a home's files are untrusted input: read as the pipeline reads its manifests
        manifest = run_manifest.read(paths.manifest, paths.home)
    except (OSError, run_manifest.ManifestError) as exc:
        parser.error(f"no usable manifest of run {args.run_id!r} in --home: {exc}")
    params = manifest["params"]
    as_of, days = date.fromisoformat(params["as_of"]), int(params["days"])
    started = time.perf_counter()
    measured = contract_reuse.measured_by_dbt(
        dbt_artifacts.load(paths.dbt_target, within=paths.home))
    read_s = time.perf_counter() - started
    times: dict[str, list[float]] = {"scan": [], "reuse": []}
    for round_number in range(args.repeat):
        order = ("scan", "reuse") if round_number % 2 == 0 else ("reuse", "scan")
        reports = {}
        for mode in order:
            seconds, reports[mode] = _timed(paths.snapshot, as_of, days,
                                            measured if mode == "reuse" else None)
            times[mode].append(round(seconds, 2))
            print(f"round {round_number + 1} {mode:5s} {seconds:6.2f} s", flush=True)
        difference = first_difference(reports["reuse"], reports["scan"])
        if difference:
            print(f"the modes disagree: {difference}", file=sys.stderr)
            return 1
    reused = sum(1 for r in reports["reuse"].results if r.engine == "dbt")
    median = {mode: statistics.median(values) for mode, values in times.items()}
    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "run_id": args.run_id, "users": params.get("users"),
        "checks": len(reports["reuse"].results), "checks_from_dbt": reused,
        "dbt_results_read_s": round(read_s, 3), "wall_s": times, "median_s": median,
        "ratio_reuse_to_scan": round(median["reuse"] / median["scan"], 3),
    }
    print(f"{result['checks']} checks, {reused} from dbt's counts; median scan "
          f"{median['scan']:.2f} s, reuse {median['reuse']:.2f} s "
          f"({result['ratio_reuse_to_scan']:.2f}x); same checks, statuses and values")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out_dir / f"contracts_{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
