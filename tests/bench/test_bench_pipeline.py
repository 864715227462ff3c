"""bench/bench_pipeline.py: whom each sampled process's peak memory is filed under, and the
loader measured alone on a run's files."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

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
