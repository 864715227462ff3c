"""bench/bench_pipeline.py: whom each sampled process's peak memory is filed under."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from tests.bench import bench_scripts


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
