"""One pipeline run from start to publication: the only code that knows the step order.

``STEPS`` is the one list of the run's steps, in order: functions of the run's state
returning a :class:`~pipeline.step_types.StepResult` (:mod:`pipeline.build_steps`,
:mod:`pipeline.observability_steps`, then :func:`step_publish`). :class:`PipelineRun`
runs them and is the only writer of what they return: the manifest and the ops tables.

A run either publishes a complete snapshot and moves the pointer, or it records why it
did not (manifest ``failed``/``interrupted`` with the failing step and error), removes
its half-built database and leaves the previous snapshot and pointer untouched.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, NoReturn

import duckdb
from foundation import ops_tables
from foundation.paths import RunPaths
from pipeline import build_steps, dbt_runner, integrity, interrupts, observability_steps
from pipeline import manifest as manifest_io
from pipeline.disk_space import disk_full_message, estimate_run_bytes, is_disk_full
from pipeline.errors import StepError, manifest_updates
from pipeline.interrupts import RunInterrupted, latch_installed
from pipeline.logging_setup import CONSOLE_TEXT
from pipeline.pointer import PointerError, fsync_dir, publish_lock, read_pointer, write_pointer
from pipeline.step_types import RunConfig, RunState, Step, StepResult
from pipeline.sweep import remove_building_files, sweep_abandoned

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


# --------------------------------------------------------------------------- publication


def step_publish(state: RunState) -> StepResult:
    """Checkpoint and close, rename into place, then move the pointer under the lock.

    The one step that records into the manifest itself: the pointer move and its record
    happen together while signals are held back, so an interrupt can never find the
    pointer moved but the run not marked published.
    """
    paths = state.paths
    with duckdb.connect(str(paths.building_snapshot)) as con:
        con.execute("checkpoint")
    # hashed once, closed and before the lock: the rename keeps these bytes and mtime
    fingerprint = integrity.fingerprint(paths.building_snapshot)
    # an interrupt while waiting for another run's publication stops this run; once the lock
    # is held it is only recorded while the pointer moves: publication is never half done
    with publish_lock(paths), interrupts.deferred():
        try:
            previous = read_pointer(paths)
        except PointerError as exc:
            logger.warning("  warning: replacing a corrupt pointer (%s)", exc)
            previous = None
        paths.building_snapshot.replace(paths.snapshot)
        fsync_dir(paths.duckdb_dir)
        try:
            write_pointer(paths, paths.snapshot.name)
        except BaseException:
            paths.snapshot.replace(paths.building_snapshot)
            raise
        # Recorded, and saved, before signals are let through again: from here on the run is
        # published, and a kill after this point still leaves a verifiable record that the
        # next run completes (pipeline/sweep.py)
        state.document["previous_run_id"] = previous
        state.document["pointer_updated"] = True
        state.document["published_at"] = manifest_io.iso(manifest_io.utc_now())
        state.document["snapshot"] = {"path": str(paths.snapshot), **fingerprint}
        try:
            manifest_io.save(paths.manifest, state.document)
        except OSError:  # a full disk: the runner's final save tries again and says so
            logger.debug("could not save the manifest right after publishing", exc_info=True)
    return StepResult({"snapshot": paths.snapshot.name, "previous_run_id": previous})


STEPS: tuple[tuple[str, Step], ...] = (
    ("generate", build_steps.step_generate),
    ("load_raw", build_steps.step_load_raw),
    ("source_freshness", build_steps.step_source_freshness),
    ("dbt_build", build_steps.step_dbt_build),
    ("schema_snapshot", build_steps.step_schema_snapshot),
    ("dbt_artifacts", observability_steps.step_dbt_artifacts),
    ("contracts", observability_steps.step_contracts),
    ("schema_drift", observability_steps.step_schema_drift),
    ("volume_anomalies", observability_steps.step_volume_anomalies),
    ("quality_gate", observability_steps.step_quality_gate),
    ("record_ops", observability_steps.step_record_ops),
    ("publish", step_publish),
)


# --------------------------------------------------------------------------- lifecycle


class PipelineRun:
    """Executes STEPS for one config, keeping the manifest current after every step."""

    def __init__(self, config: RunConfig, steps: tuple[tuple[str, Step], ...] = STEPS,
                 warm_up: Callable[[RunState], None] | None = None) -> None:
        self.config = config
        self.paths = RunPaths(home=config.home, run_id=config.run_id)
        self.steps = steps
        #: started before the first step, for work that later steps need and that can
        #: overlap the earlier ones (dbt's worker: build_steps.start_dbt_worker)
        self.warm_up = warm_up
        #: Why the final manifest could not be written, if it could not (a full disk).
        self.unrecorded: str | None = None

    def claim(self, started_at_epoch: float) -> RunState:
        """Create the manifest (the run id's claim) and the run's folders."""
        self.paths.ensure()
        try:
            previous = read_pointer(self.paths)
        except PointerError:
            previous = None
        started_at = manifest_io.utc_now()
        document = manifest_io.new_document(
            self.config.run_id, home=self.config.home, params=self.config.params(),
            started_at=started_at, previous_run_id=previous,
        )
        document["artifacts"] = {"log": str(self.paths.log), "manifest": str(self.paths.manifest),
                                 "data_dir": str(self.paths.run_data_dir)}
        manifest_io.claim(self.paths.manifest, document)
        self._t0 = started_at_epoch
        return RunState(config=self.config, paths=self.paths, document=document)

    def execute(self, state: RunState) -> int:
        with latch_installed() as self._latch:
            return self._execute_steps(state)

    def _execute_steps(self, state: RunState) -> int:
        document = state.document
        status, exit_code = "success", EXIT_OK
        try:
            self._sweep(state)
            self._warm_up(state)
            for name, step in self.steps:
                self._run_step(state, name, step)
        except (KeyboardInterrupt, RunInterrupted) as exc:
            status, exit_code = "interrupted", EXIT_INTERRUPTED
            running = [s for s in document["steps"] if s["status"] == "running"]
            if running and document["failed_step"] is None:
                # The signal landed between steps' bookkeeping, outside _run_step's handler.
                running[-1]["status"] = "interrupted"
                running[-1]["error"] = str(exc) or "interrupted by Ctrl-C"
                document["failed_step"] = running[-1]["name"]
                document["error"] = f"{running[-1]['name']}: interrupted"
            document["error"] = document["error"] or (str(exc) or "interrupted by Ctrl-C")
        except Exception as exc:
            status, exit_code = "failed", EXIT_FAILED
            if document["error"] is None:  # failed outside any step: still say why
                document["error"] = _describe(exc)
                logger.error("✗ %s", document["error"])
                logger.debug("the run failed outside its steps", exc_info=exc)
        finally:
            # a second signal must not cut the clean-up and the final manifest short
            with interrupts.deferred():
                # dbt's worker lives from dbt_build to source_freshness: never past the run.
                # Here it only stops a failed run's worker; the outcome is already decided.
                with contextlib.suppress(Exception):
                    dbt_runner.close_session(build_steps.dbt_invocation(state))
                if status != "success":
                    self._clean_up(document)
                document["status"] = status
                finished = manifest_io.utc_now()
                document["finished_at"] = manifest_io.iso(finished)
                document["duration_s"] = round(time.monotonic() - self._t0, 3)
                try:
                    manifest_io.save(self.paths.manifest, document)
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
        state.document["warnings"].extend({"step": None, "message": warning}
                                          for warning in report.warnings)

    def _clean_up(self, document: dict[str, Any]) -> None:
        """Remove this failed run's half-built files; a folder that refuses (read-only)
        is recorded as a warning, never raised over the run's own error."""
        try:
            remove_building_files(self.paths)
        except OSError as exc:
            message = f"could not remove the half-built snapshot: {_describe(exc)}"
            logger.warning("  warning: %s", message)
            document["warnings"].append({"step": None, "message": message})

    def _warm_up(self, state: RunState) -> None:
        """An optimisation only: if it fails, the step that needs it does the work itself
        and reports any error there."""
        if self.warm_up is None:
            return
        try:
            self.warm_up(state)
        except Exception as exc:
            logger.debug("warm-up failed; the steps start what they need: %s", _describe(exc))

    def _run_step(self, state: RunState, name: str, step: Step) -> None:
        document = state.document
        record: dict[str, Any] = {"name": name, "status": "running",
                                  "started_at": manifest_io.iso(manifest_io.utc_now()),
                                  "duration_s": None, "error": None}
        document["steps"].append(record)
        logger.info("▶ %-17s", name)
        start = time.monotonic()
        try:
            manifest_io.save(self.paths.manifest, document)
            result = step(state)
            self._record(document, name, result)
            self._latch.check()
        except (KeyboardInterrupt, RunInterrupted) as exc:
            if document["pointer_updated"]:
                # The signal arrived once the snapshot was published: nothing to undo.
                document["warnings"].append({"step": name, "message": f"{exc} after publish"})
                self._finish_step(record, start, "ok", None)
                return
            self._record_interrupted(document, record, start, name,
                                     str(exc) or "interrupted by Ctrl-C")
            raise
        except Exception as exc:
            document.update(manifest_updates(exc))
            self._fail_step(document, record, start, name, exc)
        self._finish_step(record, start, "ok", None)
        record["details"] = result.details
        try:
            manifest_io.save(self.paths.manifest, document)
        except OSError as exc:
            if not document["pointer_updated"]:
                self._fail_step(document, record, start, name, exc)
            # published: the final save tries again, and says so if it cannot
        logger.info("✓ %-17s %6.1fs", name, record["duration_s"])

    def _record(self, document: dict[str, Any], name: str, result: StepResult) -> None:
        """Record what a step returned: its ops tables' rows (written into the building
        snapshot), its manifest sections and its warnings. Only the runner writes them."""
        if not isinstance(result, StepResult):
            raise TypeError(f"step {name} returned {type(result).__name__}, not a StepResult")
        if result.ops:
            with duckdb.connect(str(self.paths.building_snapshot)) as con:
                for table, rows in result.ops.items():
                    ops_tables.replace_rows(con, table, rows)
        document.update(result.manifest)
        document["warnings"].extend({"step": name, "message": message}
                                    for message in result.warnings)

    def _fail_step(self, document: dict[str, Any], record: dict[str, Any], start: float,
                   name: str, exc: Exception) -> NoReturn:
        """Record why step ``name`` stopped and stop the run: an interrupt that a library
        turned into its own error, a full disk, or the step's own failure."""
        if self._latch.received is not None and not document["pointer_updated"]:
            # DuckDB raises "Query interrupted" when the handler fires inside a query: the
            # signal, not that error, is why the step stopped.
            self._latch.raised = True
            reason = f"received signal {self._latch.received}"
            self._record_interrupted(document, record, start, name, reason)
            raise RunInterrupted(reason) from exc
        message = str(exc) if isinstance(exc, StepError) else _describe(exc)
        if is_disk_full(exc):
            needed = estimate_run_bytes(self.config.users, self.config.days)
            message = f"{disk_full_message(self.paths.home, needed)}; {message}"
        self._finish_step(record, start, "failed", message)
        document["failed_step"] = name
        document["error"] = message
        logger.error("✗ %-17s %s", name, message,
                     extra={CONSOLE_TEXT: f"✗ {name:<17} failed (the reason follows below)"})
        logger.debug("step %s failed", name, exc_info=exc)
        raise exc

    @classmethod
    def _record_interrupted(cls, document: dict[str, Any], record: dict[str, Any],
                            start: float, name: str, reason: str) -> None:
        cls._finish_step(record, start, "interrupted", reason)
        document["failed_step"] = name
        document["error"] = f"{name}: interrupted"
        logger.error("✗ %-17s interrupted", name)

    @staticmethod
    def _finish_step(record: dict[str, Any], start: float, status: str, error: str | None) -> None:
        record["status"] = status
        record["duration_s"] = round(time.monotonic() - start, 3)
        record["error"] = error


def _describe(exc: BaseException) -> str:
    """One line for an unexpected error: its type and message, no traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
