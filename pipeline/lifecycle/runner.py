"""One pipeline run from start to publication: runs a plan of steps and records them.

A :class:`~pipeline.lifecycle.step_types.RunPlan` (chosen per engine by
:func:`pipeline.steps.run_plan`) says which steps run, in which order; each is a function
of the run's state returning a :class:`~pipeline.lifecycle.step_types.StepResult`.
:class:`PipelineRun` runs them and is the only writer of what they return: the manifest
(a :class:`~pipeline.records.run_manifest.RunManifest`) and the ``ops`` tables.

A run either publishes a complete snapshot and moves the pointer, or it records why it
did not (manifest ``failed``/``interrupted`` with the failing step and error), removes
its half-built database and leaves the previous snapshot and pointer untouched.
"""

from __future__ import annotations

import logging
import time
from typing import NoReturn

import duckdb
from foundation import ops_tables
from foundation.paths import RunPaths
from pipeline.lifecycle import interrupts
from pipeline.lifecycle.disk_space import disk_full_message, estimate_run_bytes, is_disk_full
from pipeline.lifecycle.errors import StepError, manifest_updates
from pipeline.lifecycle.interrupts import RunInterrupted, latch_installed
from pipeline.lifecycle.logging_setup import CONSOLE_TEXT
from pipeline.lifecycle.step_types import RunConfig, RunPlan, RunState, Step, StepResult
from pipeline.lifecycle.sweep import remove_building_files, sweep_abandoned
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import PointerError, read_pointer
from pipeline.records.run_manifest import RunManifest, StepRecord

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class PipelineRun:
    """Executes a plan's steps for one config, keeping the manifest current after each."""

    def __init__(self, config: RunConfig, plan: RunPlan) -> None:
        self.config = config
        self.paths = RunPaths(home=config.home, run_id=config.run_id)
        self.plan = plan
        #: Why the final manifest could not be written, if it could not (a full disk).
        self.unrecorded: str | None = None

    def claim(self, started_at_epoch: float) -> RunState:
        """Create the manifest (the run id's claim) and the run's folders."""
        self.paths.ensure()
        try:
            previous = read_pointer(self.paths)
        except PointerError:
            previous = None
        manifest = manifest_io.new_manifest(
            self.config.run_id, home=self.config.home, params=self.config.params(),
            started_at=manifest_io.utc_now(), previous_run_id=previous)
        manifest.artifacts = {"log": str(self.paths.log), "manifest": str(self.paths.manifest),
                              "data_dir": str(self.paths.run_data_dir)}
        manifest_io.claim(self.paths.manifest, manifest)
        self._t0 = started_at_epoch
        return RunState(config=self.config, paths=self.paths, manifest=manifest)

    def execute(self, state: RunState) -> int:
        with latch_installed() as self._latch:
            return self._execute_steps(state)

    def _execute_steps(self, state: RunState) -> int:
        manifest = state.manifest
        status, exit_code = "success", EXIT_OK
        try:
            self._sweep(state)
            self._warm_up(state)
            for name, step in self.plan.steps:
                self._run_step(state, name, step)
        except (KeyboardInterrupt, RunInterrupted) as exc:
            status, exit_code = "interrupted", EXIT_INTERRUPTED
            running = [s for s in manifest.steps if s.status == "running"]
            if running and manifest.failed_step is None:
                # The signal landed between steps' bookkeeping, outside _run_step's handler.
                running[-1].status = "interrupted"
                running[-1].error = str(exc) or "interrupted by Ctrl-C"
                manifest.failed_step = running[-1].name
                manifest.error = f"{running[-1].name}: interrupted"
            manifest.error = manifest.error or (str(exc) or "interrupted by Ctrl-C")
        except Exception as exc:
            status, exit_code = "failed", EXIT_FAILED
            if manifest.error is None:  # failed outside any step: still say why
                manifest.error = _describe(exc)
                logger.error("✗ %s", manifest.error)
                logger.debug("the run failed outside its steps", exc_info=exc)
        finally:
            # a second signal must not cut the clean-up and the final manifest short
            with interrupts.deferred():
                self._finish(state)
                if status != "success":
                    self._clean_up(manifest)
                manifest.status = status
                self._conclude(state)
                manifest.finished_at = manifest_io.iso(manifest_io.utc_now())
                manifest.duration_s = round(time.monotonic() - self._t0, 3)
                try:
                    manifest_io.save(self.paths.manifest, manifest)
                except OSError as exc:
                    # the caller prints this once: the log may be on the same full disk
                    self.unrecorded = (f"the manifest {self.paths.manifest} could not be "
                                       f"written: {_describe(exc)}")
        return exit_code

    def _sweep(self, state: RunState) -> None:
        """Settle the home's killed runs; what it cannot read or settle becomes this run's
        warning (a bad file of another run never stops this one)."""
        report = sweep_abandoned(self.paths)
        for swept in report.swept:
            logger.info("  note: run %s had been killed; its manifest is now settled", swept)
        for warning in report.warnings:
            logger.warning("  warning: %s", warning)
            state.manifest.warn(None, warning)

    def _finish(self, state: RunState) -> None:
        """The plan's end-of-run hook (it stops what the steps left running, e.g. a
        failed run's dbt worker). The outcome is already decided: it never changes it."""
        if self.plan.finish is None:
            return
        try:
            self.plan.finish(state)
        except Exception as exc:
            logger.debug("ending the run's helpers failed: %s", _describe(exc))

    def _conclude(self, state: RunState) -> None:
        """The plan's last word on the run, recorded with the final manifest."""
        if self.plan.conclude is None:
            return
        try:
            state.manifest.apply(self.plan.conclude(state), step=None)
        except Exception as exc:
            logger.debug("concluding the run failed: %s", _describe(exc))

    def _clean_up(self, manifest: RunManifest) -> None:
        """Remove this failed run's half-built files; a folder that refuses (read-only)
        is recorded as a warning, never raised over the run's own error."""
        try:
            remove_building_files(self.paths)
        except OSError as exc:
            message = f"could not remove the half-built snapshot: {_describe(exc)}"
            logger.warning("  warning: %s", message)
            manifest.warn(None, message)

    def _warm_up(self, state: RunState) -> None:
        """An optimisation only: if it fails, the step that needs it does the work itself
        and reports any error there."""
        if self.plan.warm_up is None:
            return
        try:
            self.plan.warm_up(state)
        except Exception as exc:
            logger.debug("warm-up failed; the steps start what they need: %s", _describe(exc))

    def _run_step(self, state: RunState, name: str, step: Step) -> None:
        manifest = state.manifest
        record = StepRecord(name=name, status="running",
                            started_at=manifest_io.iso(manifest_io.utc_now()))
        manifest.steps.append(record)
        logger.info("▶ %-17s", name)
        start = time.monotonic()
        try:
            manifest_io.save(self.paths.manifest, manifest)
            result = step(state)
            self._record(manifest, name, result)
            self._latch.check()
        except (KeyboardInterrupt, RunInterrupted) as exc:
            if manifest.pointer_updated:
                # The signal arrived once the snapshot was published: nothing to undo.
                manifest.warn(name, f"{exc} after publish")
                self._finish_step(record, start, "ok", None)
                return
            self._record_interrupted(manifest, record, start, name,
                                     str(exc) or "interrupted by Ctrl-C")
            raise
        except Exception as exc:
            manifest.apply(manifest_updates(exc), step=name)
            self._fail_step(manifest, record, start, name, exc)
        self._finish_step(record, start, "ok", None)
        record.details = result.details
        try:
            manifest_io.save(self.paths.manifest, manifest)
        except OSError as exc:
            if not manifest.pointer_updated:
                self._fail_step(manifest, record, start, name, exc)
            # published: the final save tries again, and says so if it cannot
        logger.info("✓ %-17s %6.1fs", name, record.duration_s)

    def _record(self, manifest: RunManifest, name: str, result: StepResult) -> None:
        """Record what a step returned: its ops tables' rows (written into the building
        snapshot), its manifest sections and its warnings. Only the runner writes them."""
        if not isinstance(result, StepResult):
            raise TypeError(f"step {name} returned {type(result).__name__}, not a StepResult")
        if result.ops:
            with duckdb.connect(str(self.paths.building_snapshot)) as con:
                for table, rows in result.ops.items():
                    ops_tables.replace_rows(con, table, rows)
        manifest.apply(result.manifest, step=name)
        for message in result.warnings:
            manifest.warn(name, message)

    def _fail_step(self, manifest: RunManifest, record: StepRecord, start: float,
                   name: str, exc: Exception) -> NoReturn:
        """Record why step ``name`` stopped and stop the run: an interrupt that a library
        turned into its own error, a full disk, or the step's own failure."""
        if self._latch.received is not None and not manifest.pointer_updated:
            # DuckDB raises "Query interrupted" when the handler fires inside a query: the
            # signal, not that error, is why the step stopped.
            self._latch.raised = True
            reason = f"received signal {self._latch.received}"
            self._record_interrupted(manifest, record, start, name, reason)
            raise RunInterrupted(reason) from exc
        message = str(exc) if isinstance(exc, StepError) else _describe(exc)
        if is_disk_full(exc):
            needed = estimate_run_bytes(self.config.users, self.config.days)
            message = f"{disk_full_message(self.paths.home, needed)}; {message}"
        self._finish_step(record, start, "failed", message)
        manifest.failed_step = name
        manifest.error = message
        logger.error("✗ %-17s %s", name, message,
                     extra={CONSOLE_TEXT: f"✗ {name:<17} failed (the reason follows below)"})
        logger.debug("step %s failed", name, exc_info=exc)
        raise exc

    @classmethod
    def _record_interrupted(cls, manifest: RunManifest, record: StepRecord, start: float,
                            name: str, reason: str) -> None:
        cls._finish_step(record, start, "interrupted", reason)
        manifest.failed_step = name
        manifest.error = f"{name}: interrupted"
        logger.error("✗ %-17s interrupted", name)

    @staticmethod
    def _finish_step(record: StepRecord, start: float, status: str, error: str | None) -> None:
        record.status = status  # type: ignore[assignment]
        record.duration_s = round(time.monotonic() - start, 3)
        record.error = error


def _describe(exc: BaseException) -> str:
    """One line for an unexpected error: its type and message, no traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

