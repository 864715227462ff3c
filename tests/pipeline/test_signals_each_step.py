"""SIGTERM and Ctrl-C at the start and in the middle of every step: ``interrupted``, exit
130, pointer unchanged, nothing half-built left.

One tiny run is recorded once, with a copy of its home taken as each step starts. Each
case restores the copy for its step and resumes the run from there, so a signal can be
placed in any step without rebuilding everything before it. "The middle" is counted in
Python calls (leaving out calls made while waiting for another thread, whose number
depends on the load): the recording counts each step's calls, and the case sends the
signal at half that count, whatever the machine's speed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import duckdb
from foundation.paths import RunPaths
from generator.data_generator import GeneratorConfig, generate_dataset
from pipeline.checks import health as health_checks
from pipeline.lifecycle.runner import EXIT_INTERRUPTED, EXIT_OK, PipelineRun
from pipeline.lifecycle.step_types import RunConfig, RunState, Step, StepResult
from pipeline.records import manifest as manifest_io
from pipeline.records.run_manifest import RunManifest
from pipeline.steps import build as build_steps
from pipeline.steps.plan import run_plan
from pipeline.transform import session as dbt_session

RUN_ID = "stepwise"
PREVIOUS = "carton_caps_before.duckdb"
Profile = Callable[[Any, str, Any], None]
#: Calls made while a thread waits for another (the generator's writer queue, a lock) vary
#: with the machine's load; every other call of a step is the same from run to run.
WAITING_MODULES = ("threading.py", "queue.py", "selectors.py")


#: the DuckDB run's steps, in order
STEPS = run_plan().steps


def _counts(frame: Any, event: str) -> bool:
    return event == "call" and not frame.f_code.co_filename.endswith(WAITING_MODULES)


def tiny_config(home: Path) -> RunConfig:
    return RunConfig(home=home, run_id=RUN_ID, seed=7, users=300, as_of=date(2026, 11, 1),
                     days=540)


def _profiled(step: Step, state: RunState, profile: Profile) -> StepResult:
    sys.setprofile(profile)
    try:
        return step(state)
    finally:
        sys.setprofile(None)


@dataclass(frozen=True)
class Recording:
    """Copies of a tiny run's home as each step started, and each step's Python calls."""

    home: Path
    checkpoints: Path
    calls: dict[str, int]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    root = tmp_path_factory.mktemp("stepwise")
    home, checkpoints = root / "home", root / "checkpoints"
    calls: dict[str, int] = {}
    # the first generation in a process also fills module caches (the ZIP code list):
    # fill them first, so the recording counts the calls every later generation makes
    config = tiny_config(home)
    generate_dataset(root / "warm-up", GeneratorConfig(
        seed=config.seed, users=config.users, as_of=config.as_of, days=config.days))
    # ... and health's owners, read from the contracts once per process: run alone, the
    # recorded health step would read them and the resumed one not (it never reached
    # its half-way signal)
    health_checks._owners()

    def recorded(name: str, step: Step) -> Step:
        def run(state: RunState) -> StepResult:
            shutil.copytree(home, checkpoints / name, symlinks=True)
            count = 0

            def counter(frame: Any, event: str, _arg: Any) -> None:
                nonlocal count
                count += _counts(frame, event)

            result = _profiled(step, state, counter)
            calls[name] = count
            return result
        return run

    plan = run_plan()
    run = PipelineRun(tiny_config(home), dataclasses.replace(
        plan, steps=tuple((n, recorded(n, s)) for n, s in STEPS)))
    state = run.claim(time.monotonic())
    assert run.execute(state) == EXIT_OK, json.dumps(state.manifest.to_json(), indent=1)
    return Recording(home=home, checkpoints=checkpoints, calls=calls)


def _restore(recording: Recording, name: str, home: Path) -> RunState:
    """The run as it stood when step ``name`` started, moved to ``home``, with a previously
    published snapshot that the pointer names."""
    shutil.copytree(recording.checkpoints / name, home, symlinks=True)
    paths = RunPaths(home=home, run_id=RUN_ID)
    text = paths.manifest.read_text(encoding="utf-8")
    document = json.loads(text.replace(json.dumps(str(recording.home))[1:-1],
                                       json.dumps(str(home))[1:-1]))
    duckdb.connect(str(paths.duckdb_dir / PREVIOUS)).close()
    paths.pointer.write_text(PREVIOUS + "\n", encoding="utf-8")
    return RunState(config=tiny_config(home), paths=paths,
                    manifest=RunManifest.from_json(document))


def _docs_worker(state: RunState) -> None:
    """What dbt_build leaves running: the docs' worker, parsing ahead of its command."""
    dbt_session.start_session(build_steps.dbt_invocation(state))


def _resume(state: RunState, name: str, step: Step) -> int:
    names = [n for n, _ in STEPS]
    index = names.index(name)
    steps = ((name, step), *STEPS[index + 1:])
    plan = run_plan()
    # as in the recording: up to dbt_build the run's first worker is up; after it, until
    # dbt_docs, the one dbt_build left for the docs
    warm_up = plan.warm_up if index <= names.index("dbt_build") else (
        _docs_worker if index <= names.index("dbt_docs") else None)
    run = PipelineRun(state.config, dataclasses.replace(plan, steps=steps, warm_up=warm_up))
    run._t0 = time.monotonic()
    return run.execute(state)


def _signal_at_start(step: Step, signum: int) -> Step:
    def run(state: RunState) -> StepResult:
        os.kill(os.getpid(), signum)
        return step(state)
    return run


def _signal_in_the_middle(step: Step, signum: int, at_call: int) -> Step:
    def run(state: RunState) -> StepResult:
        count = 0

        def trigger(frame: Any, event: str, _arg: Any) -> None:
            nonlocal count
            count += _counts(frame, event)
            if count == at_call:
                sys.setprofile(None)
                os.kill(os.getpid(), signum)

        return _profiled(step, state, trigger)
    return run


CASES = [(name, when, signum) for name, _ in STEPS for when in ("start", "middle")
         for signum in (signal.SIGTERM, signal.SIGINT)]


@pytest.mark.pipeline_run
@pytest.mark.parametrize(("name", "when", "signum"), CASES,
                         ids=[f"{n}-{w}-{s.name}" for n, w, s in CASES])
def test_a_signal_stops_the_run_in_any_step_and_keeps_the_pointer(
        recording: Recording, tmp_path: Path, name: str, when: str,
        signum: signal.Signals) -> None:
    step = dict(STEPS)[name]
    calls = recording.calls[name]
    assert calls > 1, f"{name} made {calls} Python calls"
    wrapped = (_signal_at_start(step, signum) if when == "start"
               else _signal_in_the_middle(step, signum, max(calls // 2, 1)))
    state = _restore(recording, name, tmp_path / "home")
    paths = state.paths
    code = _resume(state, name, wrapped)

    recorded = manifest_io.load(paths.manifest)
    assert recorded is not None
    left = sorted(p.name for p in paths.duckdb_dir.iterdir() if ".building" in p.name)
    assert left == []
    if name == "publish" and recorded["status"] == "success":
        # the signal came once the pointer was being moved: publication completes
        assert when == "middle"
        assert code == EXIT_OK
        assert paths.pointer.read_text() == f"carton_caps_{RUN_ID}.duckdb\n"
        assert recorded["warnings"][-1] == {
            "step": "publish", "message": f"received signal {signum.name} after publish"}
        return
    assert code == EXIT_INTERRUPTED
    assert recorded["status"] == "interrupted"
    assert recorded["failed_step"] == name
    assert recorded["error"] == f"{name}: interrupted"
    assert recorded["steps"][-1]["name"] == name
    assert recorded["steps"][-1]["status"] == "interrupted"
    assert recorded["finished_at"] is not None
    assert paths.pointer.read_text() == PREVIOUS + "\n"
    assert not paths.snapshot.exists()
