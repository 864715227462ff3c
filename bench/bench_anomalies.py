"""Recall and false alarms of the anomaly monitoring, over seeds x sizes x as-of dates.

For every case (seed, users, as-of) the script generates a clean dataset, loads it, and
computes ``monitoring_metrics_daily`` by executing the dbt project's compiled SQL of that
model and its upstream views and tables in one DuckDB connection (like
``bench/transform_floor.py``: no dbt per case, one ``dbt compile`` per as-of date); then it
scores the metrics with ``pipeline.checks.series_anomalies`` (what the dbt model
``monitoring_metrics_scored`` runs). Then, for each day-level fault of the generator, a
copy of the clean files gets that fault alone (``generator.faults.apply_faults``) and goes
through the same steps.

* **false alarms**: flags in the detection period of the clean run (target: 0);
* **recall**: each day a fault hit is caught when the fault's metric is flagged on that
  day for the right dimension (:data:`EXPECTED`); ``change`` is how far the fault moved
  that metric from the clean run's value (the issue's 1,000-user target counts the faults
  that move it by more than half).

    python bench/bench_anomalies.py --seeds 1,2 --users 5000 --as-of 2026-11-01,2026-09-05

Prints one line per case and a summary table; ``--json FILE`` writes every result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import graphlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import duckdb
from foundation.cli_values import comma_separated, non_negative_int, positive_int
from foundation.paths import DBT_PROJECT_DIR
from generator.data_generator import GeneratorConfig, generate_dataset
from generator.faults import apply_faults
from loader import load_raw
from pipeline.checks.series_anomalies import (
    MonitoringSettings,
    load_settings,
    score_metrics,
)
from pipeline.lifecycle import duckdb_settings

MODEL = "monitoring_metrics_daily"
PII_KEY = "bench-anomalies-key"
#: fault -> the metric, dimension and value that must be flagged on each day it hit
#: (value None: the platform the fault records in its scope)
EXPECTED: dict[str, tuple[str, str, str | None]] = {
    "outage_day": ("app_events.row_count", "all", "all"),
    "platform_outage": ("app_events.row_count", "platform", None),
    "replayed_day": ("app_events.duplicate_share", "all", "all"),
    "null_burst": ("app_events.properties.null_share", "all", "all"),
    "unit_change": ("receipts.total_cents.mean", "all", "all"),
    "rejection_spike": ("receipt_rejection_rate", "all", "all"),
}
DEFAULT_AS_OF = ("2026-11-01", "2026-09-05", "2026-12-31", "2026-03-15")


@dataclass(frozen=True)
class Case:
    seed: int
    users: int
    as_of: dt.date

    @property
    def name(self) -> str:
        return f"s{self.seed}_u{self.users}_{self.as_of.isoformat()}"


@dataclass(frozen=True)
class Result:
    """One fault day (or, for fault 'clean', one clean run) of one case."""

    case: str
    users: int
    fault: str
    day: str | None
    caught: bool | None
    change: float | None  # relative change of the expected metric vs the clean run
    n_flags: int  # flags in the detection period
    flagged: str  # what was flagged, cut to a few
    seconds: float


def compile_statements(as_of: dt.date, db_path: Path, work: Path) -> list[str]:
    """The compiled SQL of the monitoring metrics model and everything it reads from dbt
    models, in dependency order, as ``create or replace`` statements (one compile per
    as-of date: the date is baked into the compiled SQL)."""
    target = work / "compiled" / as_of.isoformat()
    manifest_path = target / "manifest.json"
    if not manifest_path.is_file():
        env = {**os.environ, "CARTON_CAPS_DB_PATH": str(db_path),
               "CARTON_CAPS_AS_OF": as_of.isoformat(),
               duckdb_settings.MEMORY_LIMIT_VARIABLE: duckdb_settings.memory_limit(),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        dbt = Path(sys.executable).parent / "dbt"
        done = subprocess.run(
            [str(dbt), "compile", "--select", f"+{MODEL}", "--project-dir",
             str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "--target-path", str(target), "--log-path", str(work / "dbt_logs")],
            cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"dbt compile failed:\n{done.stdout[-3000:]}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes = {uid: node for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and node.get("compiled_code")}
    wanted = _upstream(nodes, f"model.carton_caps.{MODEL}")
    graph = {uid: [p for p in nodes[uid]["depends_on"]["nodes"] if p in wanted]
             for uid in wanted}
    statements = []
    for uid in graphlib.TopologicalSorter(graph).static_order():
        node = nodes[uid]
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        relation = node["relation_name"].split(".", 1)[1]
        statements.append(f"create schema if not exists {node['schema']}")
        statements.append(f"create or replace {kind} {relation} as "
                          f"{node['compiled_code']}")
    return statements


def _upstream(nodes: dict[str, dict[str, Any]], uid: str) -> set[str]:
    seen: set[str] = set()
    stack = [uid]
    while stack:
        current = stack.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        stack.extend(nodes[current]["depends_on"]["nodes"])
    return seen


def metrics_of(data_dir: Path, db_path: Path, statements: list[str]) -> pd.DataFrame:
    """Load ``data_dir`` into a fresh ``db_path`` and compute the metrics table."""
    db_path.unlink(missing_ok=True)
    load_raw(data_dir, db_path, "bench", pii_key=PII_KEY)
    with duckdb.connect(str(db_path), config={"preserve_insertion_order": "false"}) as con:
        for statement in statements:
            con.execute(statement)
        return con.execute(f"select * from monitoring.{MODEL}").df()  # noqa: S608


def _window(case: Case) -> Any:
    return GeneratorConfig(seed=case.seed, users=case.users, as_of=case.as_of).window


def _describe(flags: pd.DataFrame, limit: int = 4) -> str:
    parts = [f"{r.metric}[{r.dimension_value}]@{str(r.metric_date)[5:10]}"
             for r in flags.head(limit).itertuples()]
    more = len(flags) - limit
    return "; ".join(parts) + (f"; +{more}" if more > 0 else "")


def _value(metrics: pd.DataFrame, key: tuple[str, str, str], day: str) -> float | None:
    metric, dimension, value = key
    rows = metrics[(metrics.metric == metric) & (metrics.dimension == dimension)
                   & (metrics.dimension_value == value)
                   & (pd.to_datetime(metrics.metric_date) == pd.Timestamp(day))]
    return None if rows.empty else float(rows.value.iloc[0])


class MetricsCache:
    """Metrics tables kept as Parquet per case and fault (``--cache``), so that settings
    can be re-scored without generating and loading again."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def path(self, case: Case, fault: str) -> Path | None:
        return self.folder / f"{case.name}_{fault}.parquet" if self.folder else None

    def get(self, case: Case, fault: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        path = self.path(case, fault)
        if path is None or not path.is_file():
            return None
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        return pd.read_parquet(path), meta

    def put(self, case: Case, fault: str, metrics: pd.DataFrame,
            meta: dict[str, Any]) -> None:
        path = self.path(case, fault)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            metrics.to_parquet(path)
            path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")


def _metrics(case: Case, fault: str, cache: MetricsCache, folder: Path, work: Path,
             clean_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The metrics table of the clean run (fault 'clean') or of one fault, and what the
    fault recorded (its faults.json entry)."""
    cached = cache.get(case, fault)
    if cached is not None:
        return cached
    if not clean_dir.is_dir():
        generate_dataset(clean_dir, GeneratorConfig(seed=case.seed, users=case.users,
                                                    as_of=case.as_of))
    statements = compile_statements(case.as_of, _compile_db(clean_dir, work), work)
    data_dir, meta = clean_dir, {}
    if fault != "clean":
        data_dir = folder / fault
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.copytree(clean_dir, data_dir)
        apply_faults(data_dir, [fault], case.seed, _window(case))
        meta = json.loads((data_dir / "faults.json").read_text())["faults"][0]
        meta = {key: meta.get(key) for key in ("days", "scope", "count")}
    metrics = metrics_of(data_dir, folder / "bench.duckdb", statements)
    if fault != "clean":
        shutil.rmtree(data_dir)
    cache.put(case, fault, metrics, meta)
    return metrics, meta


def run_case(case: Case, faults: Sequence[str], settings: MonitoringSettings,
             work: Path, cache: MetricsCache) -> list[Result]:
    folder = work / case.name
    shutil.rmtree(folder, ignore_errors=True)
    clean_dir = folder / "clean"
    started = time.perf_counter()
    clean_metrics, _ = _metrics(case, "clean", cache, folder, work, clean_dir)
    scores = score_metrics(clean_metrics, settings)
    detection = scores[scores.period == "detection"]
    flags = detection[detection.is_flagged]
    results = [Result(case.name, case.users, "clean", None, None, None, len(flags),
                      _describe(flags), round(time.perf_counter() - started, 1))]
    for fault in faults:
        started = time.perf_counter()
        metrics, injected = _metrics(case, fault, cache, folder, work, clean_dir)
        scores = score_metrics(metrics, settings)
        detection = scores[scores.period == "detection"]
        flagged = detection[detection.is_flagged]
        metric, dimension, value = EXPECTED[fault]
        key = (metric, dimension, value or (injected.get("scope") or {}).get("platform", ""))
        seconds = round(time.perf_counter() - started, 1)
        for index, day in enumerate(injected.get("days", [])):
            hit = flagged[(flagged.metric == key[0]) & (flagged.dimension == key[1])
                          & (flagged.dimension_value == key[2])
                          & (pd.to_datetime(flagged.metric_date) == pd.Timestamp(day))]
            before, after = _value(clean_metrics, key, day), _value(metrics, key, day)
            change = (None if before is None or after is None
                      else 0.0 if after == before
                      else float("inf") if before == 0
                      else round((after - before) / abs(before), 3))
            results.append(Result(case.name, case.users, fault, day, not hit.empty, change,
                                  len(flagged), _describe(flagged),
                                  seconds if index == 0 else 0.0))
    shutil.rmtree(folder, ignore_errors=True)
    return results


def _compile_db(data_dir: Path, work: Path) -> Path:
    """A loaded database for dbt to compile against (made once)."""
    path = work / "compile.duckdb"
    if not path.is_file():
        load_raw(data_dir, path, "bench", pii_key=PII_KEY)
    return path


def summary(results: list[Result]) -> str:
    frame = pd.DataFrame([asdict(r) for r in results])
    lines = []
    clean = frame[frame.fault == "clean"]
    header = (f"{'users':>8} {'fault':<16} {'days':>5} {'caught':>7} {'recall':>7} "
              f"{'big':>9} {'median change':>14} {'flags/run':>10}")
    lines.append(header)
    lines.append("-" * len(header))
    for users, group in frame.groupby("users"):
        runs = clean[clean.users == users]
        lines.append(f"{users:>8,} {'clean':<16} {len(runs):>5} {'':>7} {'':>7} {'':>9} "
                     f"{'':>14} {runs.n_flags.mean():>10.2f}  (false alarms: "
                     f"{int(runs.n_flags.sum())} in {len(runs)} runs)")
        for fault, rows in group[group.fault != "clean"].groupby("fault"):
            caught = int(rows.caught.sum())
            big = rows[rows.change.abs() > 0.5]
            big_text = f"{int(big.caught.sum())}/{len(big)}"
            change = rows.change.median()
            lines.append(f"{users:>8,} {fault:<16} {len(rows):>5} {caught:>7} "
                         f"{caught / len(rows):>7.0%} {big_text:>9} "
                         f"{change if pd.notna(change) else float('nan'):>+14.2f} "
                         f"{rows.n_flags.mean():>10.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_anomalies.py", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--seeds", type=comma_separated(non_negative_int), default="1,2",
                        help="comma-separated seeds")
    parser.add_argument("--users", type=comma_separated(positive_int), default="1000,5000,20000",
                        help="comma-separated sizes (the issue: 1,000 to 200,000)")
    parser.add_argument("--as-of", default=",".join(DEFAULT_AS_OF),
                        help="comma-separated as-of dates")
    parser.add_argument("--faults", default=",".join(EXPECTED),
                        help="comma-separated day-level faults ('' for clean runs only)")
    parser.add_argument("--settings", type=Path, default=None,
                        help="a monitoring settings YAML (default: the project's)")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder")
    parser.add_argument("--json", type=Path, default=None, help="write every result here")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep each case's metrics here (Parquet) and reuse them: "
                             "re-scoring other settings then costs seconds")
    args = parser.parse_args(argv)
    faults = [f for f in args.faults.split(",") if f]
    unknown = sorted(set(faults) - set(EXPECTED))
    if unknown:
        parser.error(f"unknown fault(s) {unknown}; known: {', '.join(EXPECTED)}")
    settings = load_settings(args.settings)
    cases = [Case(seed, users, dt.date.fromisoformat(as_of))
             for users in args.users for as_of in args.as_of.split(",") if as_of
             for seed in args.seeds]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_anomalies_"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for case in cases:
        case_results = run_case(case, faults, settings, work, MetricsCache(args.cache))
        results += case_results
        missed = [f"{r.fault}@{r.day}" for r in case_results if r.caught is False]
        clean = case_results[0]
        print(f"{case.name}: clean flags {clean.n_flags} ({clean.flagged or '-'}); "
              f"missed {', '.join(missed) or 'none'}; {clean.seconds}s + "
              f"{sum(r.seconds for r in case_results[1:]):.0f}s", flush=True)
    print()
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n",
                             encoding="utf-8")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
