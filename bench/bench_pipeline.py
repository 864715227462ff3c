"""Benchmark whole pipeline runs: per-step wall and CPU time, rows/s, peak RSS per process.

For each size (``--sizes 1000,20000,200000,1000000``) one run of
``pipeline/run_pipeline.py`` (``--repeat`` runs) in one home per code under ``--work-dir``
(as an operator has: later runs find the caches of earlier ones; each row says whether it
was the home's first run), watched from outside:
every 0.1 s the run's process tree is sampled (psutil) for each process's RSS and CPU
time, so each step's CPU time (all processes) and each process's peak RSS come from the
same run. Then, on that run's own files and on the same machine state:

* ``read_csv`` baseline: a bare DuckDB ``create table as select * from read_csv(...)``
  of every CSV and ``sqlite_scan`` of every SQLite table of the run, into a fresh file
  (the floor the loader is measured against, target >= 0.8);
* the loader alone (``bench/load_alone.py``, the code under test's ``load_raw``) on the
  same files straight after: ``loader alone / bare`` is the loader's own ratio, while
  ``load_raw / bare`` also counts dbt's worker, which shares the cores during the run's
  load by design;
* dbt fixed cost: ``dbt build`` of a one-model project in a fresh process (what any
  dbt invocation costs before the first model of ours runs);
* transformation floor: the run's compiled SQL models and data tests executed without dbt
  on a copy of its snapshot (``bench/transform_floor.py``): ``dbt_build`` minus it is what
  dbt adds; the floor itself is what only cheaper SQL or more cores can cut.

``--baseline-repo DIR`` also runs each size with another checkout of the project (for
example ``git archive <commit> | tar -x -C DIR``), alternated with this one, so "before"
and "after" come from one session. Results: ``bench/out/pipeline_<UTC time>.json`` and a
table on stdout.

    .venv/bin/python bench/bench_pipeline.py [--sizes 1000,20000] [--repeat 1]
        [--baseline-repo DIR] [--work-dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

import duckdb
from foundation.cli_values import comma_separated, positive_int
from foundation.paths import RunPaths
from pipeline.records.pointer import write_atomically

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = REPO_ROOT / "bench" / "out"
SAMPLE_S = 0.1
SQLITE_TABLES = ("schools", "users", "products", "referrals", "redemptions")


@dataclass
class ProcessSample:
    """The last and the largest figures seen for one process of the run."""

    role: str
    peak_rss: int = 0
    cpu_s: float = 0.0


#: a process whose command names this script is a pipeline run (a forked worker, say)
PIPELINE_SCRIPT = "run_pipeline.py"


@dataclass
class TreeWatcher:
    """Samples a process and its descendants until stopped (CPU timeline + peak RSS)."""

    root: psutil.Process
    processes: dict[int, ProcessSample] = field(default_factory=dict)
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (epoch, tree CPU s)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _role(self, process: psutil.Process) -> str | None:
        """The process's role, or None when its command cannot be read (it exited and is a
        zombie until reaped): a role once known is kept then, or the pipeline's own peak
        would be filed under "other" whenever the last sample caught it exiting."""
        if process.pid == self.root.pid:
            return "pipeline"
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            return None
        if "transform.worker" in command or "/dbt " in command or command.endswith("/dbt"):
            return "dbt"
        if PIPELINE_SCRIPT in command:
            return "pipeline"
        return "other"

    def _sample(self) -> None:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for process in tree:
            try:
                with process.oneshot():
                    rss = process.memory_info().rss
                    times = process.cpu_times()
            except psutil.Error:
                continue
            role = self._role(process)
            seen = self.processes.get(process.pid)
            if seen is None:
                seen = self.processes[process.pid] = ProcessSample(role or "other")
            elif seen.role != "dbt" and role is not None:
                # a forked child shows its parent's command until exec
                seen.role = role
            seen.peak_rss = max(seen.peak_rss, rss)
            # children's CPU is sampled from the children themselves: a parent's
            # children_* fields would count a reaped child twice
            seen.cpu_s = times.user + times.system
        self.timeline.append((time.time(), sum(p.cpu_s for p in self.processes.values())))

    def run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(SAMPLE_S)

    def stop(self) -> None:
        self._stop.set()

    def cpu_between(self, start: float, end: float) -> float:
        def at(moment: float) -> float:
            before = [cpu for stamp, cpu in self.timeline if stamp <= moment]
            return before[-1] if before else 0.0
        return round(at(end) - at(start), 2)

    def peaks(self) -> dict[str, int]:
        """Peak RSS per role: the largest single process of that role."""
        peaks: dict[str, int] = {}
        for sample in self.processes.values():
            peaks[sample.role] = max(peaks.get(sample.role, 0), sample.peak_rss)
        return peaks


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run_pipeline(repo: Path, home: Path, users: int) -> dict[str, Any]:
    """One watched run of ``repo``'s pipeline; its manifest plus the watcher's figures."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    command = [sys.executable, str(repo / "pipeline" / PIPELINE_SCRIPT), "--home", str(home),
               "--users", str(users), "--quiet"]
    started = time.monotonic()
    process = psutil.Popen(command, env=env, cwd=repo, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    watcher = TreeWatcher(process)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    output, _ = process.communicate()
    wall = time.monotonic() - started
    watcher.stop()
    thread.join()
    manifests = sorted((home / "logs").glob("pipeline_*.json"), key=os.path.getmtime)
    if process.returncode != 0 or not manifests:
        raise RuntimeError(f"run failed ({process.returncode}):\n{output[-3000:]}")
    document = json.loads(manifests[-1].read_text(encoding="utf-8"))
    steps = []
    for step in document["steps"]:
        start = _epoch(step["started_at"])
        steps.append({"name": step["name"], "wall_s": step["duration_s"],
                      "cpu_s": watcher.cpu_between(start, start + step["duration_s"])})
    raw_rows = sum((document.get("row_counts") or {}).get("raw", {}).values())
    return {
        "run_id": document["run_id"], "wall_s": round(wall, 2),
        "cpu_s": round(watcher.timeline[-1][1], 2) if watcher.timeline else None,
        "raw_rows": raw_rows, "raw_rows_per_s": round(raw_rows / wall),
        "peak_rss_mb": {role: round(rss / 2**20) for role, rss in watcher.peaks().items()},
        "steps": steps,
        "data_dir": document["artifacts"]["data_dir"],
    }


def bare_read_csv(data_dir: Path, scratch: Path) -> dict[str, Any]:
    """The floor for load_raw: bare DuckDB reads of the run's own files."""
    db_path = scratch / "bare.duckdb"
    db_path.unlink(missing_ok=True)
    started = time.monotonic()
    rows = 0
    with duckdb.connect(str(db_path)) as con:
        _load_sqlite_scanner(con)
        con.execute("begin")
        for csv in sorted(data_dir.glob("*.csv")):
            con.execute(f"create table \"{csv.stem}\" as select * from read_csv(?)", [str(csv)])  # noqa: S608
            rows += con.execute(f'select count(*) from "{csv.stem}"').fetchone()[0]  # noqa: S608
        sqlite = data_dir / "app.sqlite"
        for table in SQLITE_TABLES:
            con.execute(f"create table \"lite_{table}\" as select * from sqlite_scan(?, ?)",  # noqa: S608
                        [str(sqlite), table])
            rows += con.execute(f'select count(*) from "lite_{table}"').fetchone()[0]  # noqa: S608
        con.execute("commit")
    seconds = time.monotonic() - started
    db_path.unlink(missing_ok=True)
    return {"wall_s": round(seconds, 2), "rows": rows, "rows_per_s": round(rows / seconds)}


def _load_sqlite_scanner(con: duckdb.DuckDBPyConnection) -> None:
    """From the pinned wheel when DuckDB has not installed it (no downloads)."""
    try:
        con.execute("load sqlite_scanner")
    except duckdb.Error:
        import duckdb_extensions

        duckdb_extensions.import_extension("sqlite_scanner")
        con.execute("load sqlite_scanner")


def dbt_fixed_cost(scratch: Path) -> dict[str, Any]:
    """``dbt build`` of a one-model project in a fresh process: dbt's own fixed cost."""
    project = scratch / "one_model"
    shutil.rmtree(project, ignore_errors=True)
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: one_model\nversion: '1.0'\nprofile: one_model\nconfig-version: 2\n",
        encoding="utf-8")
    (project / "profiles.yml").write_text(
        "one_model:\n  target: d\n  outputs:\n    d:\n      type: duckdb\n"
        f"      path: {project / 'one.duckdb'}\n      threads: 2\n", encoding="utf-8")
    (project / "models" / "one.sql").write_text("select 1 as id\n", encoding="utf-8")
    dbt = Path(sys.executable).with_name("dbt")
    started = time.monotonic()
    subprocess.run([str(dbt), "build", "--project-dir", str(project), "--profiles-dir",
                    str(project)], cwd=project, check=True, capture_output=True,
                   env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    return {"wall_s": round(time.monotonic() - started, 2), "nodes": 1}


def transform_floor(home: Path, run_id: str, scratch: Path) -> dict[str, Any]:
    """The run's compiled SQL without dbt (``bench/transform_floor.py``), on a copy of its
    snapshot: what DuckDB itself needs for the transformations and data tests."""
    run = RunPaths(home=home, run_id=run_id)
    copy = scratch / "floor.duckdb"
    shutil.copyfile(run.snapshot, copy)
    try:
        return measured_by([sys.executable, str(REPO_ROOT / "bench" / "transform_floor.py"),
                            str(run.dbt_target), str(copy)], REPO_ROOT)
    finally:
        copy.unlink(missing_ok=True)
        shutil.rmtree(copy.with_name(copy.name + ".tmp"), ignore_errors=True)


def load_alone(repo: Path, data_dir: Path, scratch: Path) -> dict[str, Any]:
    """``repo``'s loader on the run's files with nothing else running
    (``bench/load_alone.py``)."""
    return measured_by([sys.executable, str(REPO_ROOT / "bench" / "load_alone.py"),
                        str(data_dir), str(scratch / "load_alone.duckdb")], repo)


def measured_by(command: list[str], code: Path) -> dict[str, Any]:
    """The JSON a measuring script prints last, run on ``code``; ``{"error": ...}`` when it
    fails or prints none. A side measurement that fails (a baseline whose loader or
    artefacts differ) is recorded as such and shown as ``failed``: the runs already
    measured are still written."""
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(code)},
                          capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        try:
            return dict(json.loads(lines[-1]))
        except (ValueError, TypeError):
            pass
    said = (done.stderr.strip().splitlines() or lines or ["no output"])[-1]
    return {"error": f"{Path(command[1]).name} exited with code {done.returncode}: {said[:300]}"}


def _drop_run_files(home: Path, run_id: str) -> None:
    """A run's data and snapshot take GBs at 1M users; its logs and the caches stay."""
    shutil.rmtree(home / "data" / run_id, ignore_errors=True)
    for snapshot in (home / "duckdb").glob(f"*{run_id}*"):
        snapshot.unlink(missing_ok=True)


def _step(result: dict[str, Any], name: str) -> float:
    return next((s["wall_s"] for s in result["steps"] if s["name"] == name), 0.0)


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| code | users | first in home | wall s | raw rows/s | generate | load_raw | "
             "dbt_build | freshness | contracts | peak RSS MB (pipeline / dbt) | "
             "bare read_csv rows/s | load_raw / bare | loader alone / bare | "
             "dbt 1-model build s | SQL floor s (models + tests) | dbt_build / floor |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"
             "---:|"]
    for row in rows:
        run = row["run"]
        rss = run["peak_rss_mb"]
        floor = row["transform_floor"]
        bare_rate = row["bare_read_csv"]["rows_per_s"]
        load_rate = run["raw_rows"] / max(_step(run, "load_raw"), 1e-9)
        alone = ("failed" if "error" in row["load_alone"]
                 else f"{row['load_alone']['rows_per_s'] / bare_rate:.2f}")
        floor_cells = (("failed", "failed") if "error" in floor else (
            f"{floor['wall_s']:.1f} ({floor['models_s']:.1f} + {floor['tests_s']:.1f})",
            f"{_step(run, 'dbt_build') / max(floor['wall_s'], 1e-9):.1f}"))
        lines.append(
            f"| {row['code']} | {row['users']:,} | {row['first_run_in_home']} | "
            f"{run['wall_s']:.1f} | "
            f"{run['raw_rows_per_s']:,} | {_step(run, 'generate'):.1f} | "
            f"{_step(run, 'load_raw'):.1f} | {_step(run, 'dbt_build'):.1f} | "
            f"{_step(run, 'source_freshness'):.1f} | {_step(run, 'contracts'):.1f} | "
            f"{rss.get('pipeline', 0)} / {rss.get('dbt', 0)} | "
            f"{bare_rate:,} | {load_rate / bare_rate:.2f} | {alone} | "
            f"{row['dbt_fixed_cost']['wall_s']:.1f} | {floor_cells[0]} | {floor_cells[1]} |")
    return "\n".join(lines)


def _write(out: Path, rows: list[dict[str, Any]]) -> None:
    """The benchmark's record so far, with the machine it ran on."""
    machine = {"cpus": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
               "load_avg_at_end": os.getloadavg(), "python": platform.python_version()}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_atomically(out, json.dumps({"machine": machine, "results": rows}, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_pipeline.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=comma_separated(positive_int), default="1000,20000",
                        help="comma-separated user counts (1000,20000,200000,1000000)")
    parser.add_argument("--repeat", type=positive_int, default=1, help="runs per size and code")
    parser.add_argument("--baseline-repo", type=Path, default=None,
                        help="another checkout to run alternately, e.g. the previous commit")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the homes go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the homes afterwards")
    args = parser.parse_args(argv)
    codes = [("this", REPO_ROOT)]
    if args.baseline_repo is not None:
        codes.insert(0, ("baseline", args.baseline_repo.resolve()))
    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_", dir=args.work_dir))
    out = OUT_DIR / f"pipeline_{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    rows: list[dict[str, Any]] = []
    try:
        for users in args.sizes:
            for attempt in range(args.repeat):
                for code, repo in codes:
                    # one home per code, as an operator has: later runs find its caches
                    home = work / code
                    warm = (home / "logs").is_dir()
                    run = run_pipeline(repo, home, users)
                    row = {"code": code, "repo": str(repo), "users": users,
                           "attempt": attempt, "first_run_in_home": not warm, "run": run,
                           "bare_read_csv": bare_read_csv(Path(run["data_dir"]), work),
                           "load_alone": load_alone(repo, Path(run["data_dir"]), work),
                           "dbt_fixed_cost": dbt_fixed_cost(work),
                           "transform_floor": transform_floor(home, run["run_id"], work)}
                    rows.append(row)
                    # after every run: a benchmark that fails later keeps what it measured
                    _write(out, rows)
                    print(_table([row]).splitlines()[-1], flush=True)
                    if not args.keep:
                        _drop_run_files(home, run["run_id"])
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(_table(rows))
    print(f"\nwritten: {out}" if rows else "\nnothing measured, nothing written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
