"""Signals reach the run even when Python swallows the exception raised by the handler."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import types
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from foundation.paths import DBT_DB_LINK_NAME
from pipeline.lifecycle import interrupts
from pipeline.lifecycle.interrupts import RunInterrupted
from pipeline.lifecycle.runner import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, PipelineRun
from pipeline.lifecycle.step_types import RunConfig, RunPlan, StepResult
from pipeline.steps import build as build_steps
from pipeline.transform import commands as dbt_commands
from pipeline.transform import session as dbt_session
from pipeline.transform.invocation import DbtInvocation
from tests.conftest import TinyRun


def config(home: Path, run_id: str) -> RunConfig:
    return RunConfig(home=home, run_id=run_id, seed=1, users=10, as_of=date(2026, 11, 1),
                     days=30)


def run_steps(home: Path, run_id: str, *steps: tuple[str, Any]) -> tuple[int, dict[str, Any]]:
    run = PipelineRun(config(home, run_id), RunPlan(steps))
    state = run.claim(time.monotonic())
    return run.execute(state), state.manifest.to_json()


@pytest.mark.pipeline_run
def test_sigterm_whose_exception_was_swallowed_still_interrupts_the_run(tmp_path: Path) -> None:
    ran: list[str] = []

    def swallowing_step(_state: Any) -> StepResult:
        # What happens when the signal lands in a callback whose exceptions Python ignores.
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except RunInterrupted:
            pass
        return StepResult()

    def later_step(_state: Any) -> StepResult:
        ran.append("later")
        return StepResult()

    exit_code, document = run_steps(tmp_path, "swallowed", ("swallowing", swallowing_step),
                                    ("later", later_step))
    assert exit_code == EXIT_INTERRUPTED
    assert document["status"] == "interrupted"
    assert document["failed_step"] == "swallowing"
    assert document["error"] == "swallowing: interrupted"
    assert ran == []


@pytest.mark.pipeline_run
def test_signal_arriving_after_the_pointer_moved_keeps_the_run_published(tmp_path: Path) -> None:
    def publishing_step(state: Any) -> StepResult:
        # what publish records before it lets signals through again (steps/publish.py)
        state.manifest.pointer_updated = True
        state.manifest.published_at = "2026-11-01T00:00:00.000+00:00"
        raise RunInterrupted("received signal SIGTERM")

    exit_code, document = run_steps(tmp_path, "published", ("publish", publishing_step))
    assert exit_code == EXIT_OK
    assert document["status"] == "success"
    assert document["failed_step"] is None
    assert document["steps"][0]["status"] == "ok"
    assert document["warnings"] == [{"step": "publish",
                                     "message": "received signal SIGTERM after publish"}]


@pytest.mark.pipeline_run
def test_handlers_are_restored_after_the_run(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    run_steps(tmp_path, "restored", ("noop", lambda _state: StepResult()))
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_an_interrupt_inside_deferred_is_recorded_and_raised_by_check() -> None:
    with interrupts.latch_installed() as latch:
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the handler has run by now, and did not raise
        assert latch.received == "SIGTERM"
        with pytest.raises(RunInterrupted, match=r"^received signal SIGTERM$"):
            interrupts.check()


@pytest.mark.pipeline_run
def test_sigterm_while_dbt_starts_stops_dbt_and_interrupts_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM landing inside Popen (where Python drops exceptions raised by its at-fork
    callbacks) is raised right after it, where the started dbt is stopped."""
    started: list[subprocess.Popen[str]] = []

    def popen_hit_by_sigterm(*_args: object, **_kwargs: object) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler runs here, still "inside" Popen
        return process

    monkeypatch.setattr(dbt_session, "subprocess", types.SimpleNamespace(
        Popen=popen_hit_by_sigterm, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT,
        TimeoutExpired=subprocess.TimeoutExpired))

    def dbt_step(_state: Any) -> StepResult:
        dbt_commands.run_dbt(["build"], DbtInvocation(
            db_path=tmp_path / "unused.duckdb", work_dir=tmp_path / "dbt", as_of="2026-11-01"))
        return StepResult()

    try:
        exit_code, document = run_steps(tmp_path, "forking", ("dbt_build", dbt_step))
        assert exit_code == EXIT_INTERRUPTED
        assert (document["status"], document["failed_step"]) == ("interrupted", "dbt_build")
        assert started[0].poll() is not None  # dbt was stopped, not left running
    finally:
        started[0].kill()
        started[0].wait()


def test_only_the_first_signal_raises_later_ones_are_recorded() -> None:
    """A second Ctrl-C/SIGTERM must not cut short the clean-up the first one started."""
    with interrupts.latch_installed() as latch:
        with pytest.raises(RunInterrupted, match=r"^received signal SIGTERM$"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # the handler ran again, and did not raise
        assert latch.received == "SIGTERM"


@pytest.mark.pipeline_run
def test_an_interrupt_a_library_turns_into_its_own_error_is_still_an_interrupt(
        tmp_path: Path) -> None:
    """DuckDB turns the handler's exception into its own ``RuntimeError: Query
    interrupted`` (this is how load_raw was once recorded as failed). Whether a real query
    polls for signals in time depends on the query and the load, so the library's
    behaviour is reproduced here exactly: the handler raises, the library replaces it."""
    errors: list[str] = []

    def converting_step(_state: Any) -> StepResult:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except RunInterrupted:
            errors.append("INTERRUPT<INTERRUPT>: Query interrupted")
            raise RuntimeError(errors[0]) from None
        return StepResult()

    exit_code, document = run_steps(tmp_path, "query", ("load_raw", converting_step))
    assert errors and "interrupted" in errors[0].lower()
    assert exit_code == EXIT_INTERRUPTED
    assert (document["status"], document["failed_step"]) == ("interrupted", "load_raw")
    assert document["error"] == "load_raw: interrupted"
    assert document["steps"][0]["error"] == "received signal SIGTERM"


@pytest.mark.pipeline_run
def test_a_failing_warm_up_leaves_the_work_to_the_steps(tmp_path: Path) -> None:
    def warm_up(_state: Any) -> None:
        raise OSError(24, "Too many open files")

    run = PipelineRun(config(tmp_path, "cold"),
                      RunPlan((("only", lambda _s: StepResult()),), warm_up=warm_up))
    state = run.claim(time.monotonic())
    assert run.execute(state) == EXIT_OK
    assert state.manifest.status == "success" and state.manifest.warnings == []


@pytest.mark.pipeline_run
def test_the_warm_dbt_worker_ends_with_a_run_that_fails_before_dbt(tmp_path: Path) -> None:
    workers: list[subprocess.Popen[str]] = []

    def warm_up(state: Any) -> None:
        build_steps.start_dbt_worker(state)
        process = dbt_session.session(build_steps.dbt_invocation(state)).process
        assert process is not None
        workers.append(process)

    def generate(_state: Any) -> StepResult:
        raise ValueError("the generator failed")

    run = PipelineRun(config(tmp_path, "early_failure"),
                      RunPlan((("generate", generate),), warm_up=warm_up,
                              finish=build_steps.stop_dbt_worker))
    state = run.claim(time.monotonic())
    assert run.execute(state) == EXIT_FAILED
    assert state.manifest.error == "ValueError: the generator failed"
    assert workers[0].poll() is not None  # stopped with the run, not left parsing
    assert state.paths.dbt_dir.resolve() not in dbt_session._sessions


@pytest.mark.pipeline_run
def test_the_docs_worker_the_build_leaves_ends_with_a_run_that_fails_before_the_docs(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    workers: list[subprocess.Popen[str]] = []

    def failing_check(state: Any) -> StepResult:
        process = dbt_session.session(build_steps.dbt_invocation(state)).process
        assert process is not None and process.poll() is None  # up during the checks
        workers.append(process)
        raise ValueError("a check failed")

    run = PipelineRun(config(tmp_path, "late_failure"),
                      RunPlan((("dbt_build", build_steps.step_dbt_build),
                               ("contracts", failing_check)),
                              finish=build_steps.stop_dbt_worker))
    state = run.claim(time.monotonic())
    shutil.copyfile(tiny_run.snapshot, state.paths.building_snapshot)  # what the loader does
    assert run.execute(state) == EXIT_FAILED
    assert state.manifest.error == "ValueError: a check failed"
    assert state.manifest.failed_step == "contracts"
    # never sent a command, it is stopped at once (SIGTERM), not left to finish its parse
    assert workers[0].wait(timeout=60) == -signal.SIGTERM
    assert state.paths.dbt_dir.resolve() not in dbt_session._sessions
    assert not (state.paths.dbt_dir / DBT_DB_LINK_NAME).exists()
