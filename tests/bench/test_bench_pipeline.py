"""bench/bench_pipeline.py: whom each sampled process's peak memory is filed under, and the
loader measured alone on a run's files."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from foundation.paths import REPO_ROOT
from tests.bench import bench_scripts
from tests.conftest import TinyRun


def _exited_unreaped(process: psutil.Popen) -> None:
    """Wait until the process has exited but is not reaped (a zombie): what the watcher's
    last sample of a finished run sees."""
    deadline = time.monotonic() + 30
    while process.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.05)


def test_the_run_keeps_its_peak_when_the_last_sample_finds_it_exited() -> None:
    process = psutil.Popen([sys.executable, "-c", "import time; time.sleep(1)"],
                           stdout=subprocess.DEVNULL)
    try:
        watcher = bench_scripts.load("bench_pipeline").TreeWatcher(process)
        watcher._sample()
        _exited_unreaped(process)
        watcher._sample()
        peaks = watcher.peaks()
        assert set(peaks) == {"pipeline"}
        assert peaks["pipeline"] > 1024**2
    finally:
        process.wait(timeout=30)


def test_a_child_is_filed_by_its_command_and_keeps_it_after_exiting() -> None:
    # the parent never waits, so its exited child stays a zombie while the parent sleeps;
    # the child's command names the pipeline's script, the role it must keep once exited
    script = bench_scripts.load("bench_pipeline").PIPELINE_SCRIPT
    code = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
            f"'import time; time.sleep(1)', '{script}']); time.sleep(4)")
    process = psutil.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    try:
        watcher = bench_scripts.load("bench_pipeline").TreeWatcher(process)
        deadline = time.monotonic() + 30
        while not process.children():
            assert time.monotonic() < deadline, "no child started"
            time.sleep(0.02)
        time.sleep(0.2)  # past the child's exec
        watcher._sample()
        child = process.children()[0]
        _exited_unreaped(child)
        watcher._sample()
        assert watcher.processes[child.pid].role == "pipeline"
        assert watcher.processes[process.pid].role == "pipeline"
    finally:
        process.wait(timeout=30)


def test_the_loader_alone_loads_the_runs_files_and_leaves_no_database(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    bench = bench_scripts.load("bench_pipeline")
    alone = bench.load_alone(REPO_ROOT, tiny_run.home / "data" / tiny_run.run_id, tmp_path)
    loaded = sum(t["rows_loaded"] for t in tiny_run.manifest["ingestion"]["tables"].values())
    assert alone["rows"] == loaded > 0
    assert alone["wall_s"] > 0
    assert alone["rows_per_s"] == round(loaded / alone["wall_s"])
    assert list(tmp_path.iterdir()) == []


def test_a_side_measurement_that_fails_is_recorded_and_shown_not_raised(
        tmp_path: Path) -> None:
    """A baseline whose loader cannot read the run's files must not end the benchmark before
    it writes what it measured: the failure is the measurement, shown as ``failed``."""
    bench = bench_scripts.load("bench_pipeline")
    empty = tmp_path / "no_files"
    empty.mkdir()
    alone = bench.load_alone(REPO_ROOT, empty, tmp_path)
    assert alone == {"error": "load_alone.py exited with code 1: loader.report.LoadError: "
                              f"app.sqlite: file not found in {empty}"}
    run = {"wall_s": 20.0, "raw_rows_per_s": 1000, "raw_rows": 20000,
           "peak_rss_mb": {"pipeline": 400, "dbt": 450},
           "steps": [{"name": "load_raw", "wall_s": 0.5}, {"name": "dbt_build", "wall_s": 12.0}]}
    row = {"code": "baseline", "users": 1000, "first_run_in_home": False, "run": run,
           "bare_read_csv": {"rows_per_s": 50000}, "load_alone": alone,
           "dbt_fixed_cost": {"wall_s": 3.5}, "transform_floor": {"error": "no target"}}
    line = bench._table([row]).splitlines()[-1]
    assert line.endswith("| 50,000 | 0.80 | failed | 3.5 | failed | failed |")


def test_the_record_is_written_after_every_run_so_a_later_failure_keeps_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = bench_scripts.load("bench_pipeline")
    runs = iter([{"run_id": "r1", "data_dir": str(tmp_path)}])

    def run_pipeline(_repo: Path, _home: Path, _users: int) -> dict[str, Any]:
        return next(runs)  # the second run fails: StopIteration, raised through main
    monkeypatch.setattr(bench, "OUT_DIR", tmp_path / "out")
    monkeypatch.setattr(bench, "run_pipeline", run_pipeline)
    for name in ("bare_read_csv", "load_alone", "transform_floor"):
        monkeypatch.setattr(bench, name, lambda *_args: {"measured": True})
    monkeypatch.setattr(bench, "dbt_fixed_cost", lambda _work: {"wall_s": 1.0})
    monkeypatch.setattr(bench, "_table", lambda rows: "line")
    with pytest.raises(StopIteration):
        bench.main(["--sizes", "1000", "--repeat", "2", "--work-dir", str(tmp_path)])
    [record] = (tmp_path / "out").glob("pipeline_*.json")
    results = json.loads(record.read_text())["results"]
    assert [row["run"]["run_id"] for row in results] == ["r1"]
