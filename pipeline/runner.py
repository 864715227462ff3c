"""One pipeline run from start to publication: the only code that knows the step order.

A run either publishes a complete snapshot and moves the pointer, or it records why it
did not (manifest ``failed``/``interrupted`` with the failing step and error), removes
its half-built database and leaves the previous snapshot and pointer untouched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict
from typing import Any, NoReturn

import duckdb
import loader
from foundation import ops_tables
from foundation.paths import RunPaths
from pipeline import (
    dbt_runner,
    duckdb_settings,
    integrity,
    interrupts,
    obs_steps,
    schema_snapshot,
)
from pipeline import manifest as manifest_io
from pipeline.dbt_runner import DbtError, DbtInvocation
from pipeline.dbt_runner import build as dbt_build
from pipeline.dbt_runner import source_freshness as dbt_source_freshness
from pipeline.disk_space import disk_full_message, is_disk_full
from pipeline.errors import StepError, manifest_updates, with_manifest
from pipeline.interrupts import RunInterrupted, latch_installed
from pipeline.pii_key import pii_key
from pipeline.pointer import PointerError, fsync_dir, publish_lock, read_pointer, write_pointer
from pipeline.reject_threshold import max_reject_share as max_reject_share_from_env
from pipeline.run_state import RunConfig, RunState, Step, StepResult

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


# --------------------------------------------------------------------------- steps


def step_generate(state: RunState) -> StepResult:
    from generator.data_generator import GeneratorConfig, GeneratorInputError, generate_dataset

    config = state.config
    try:
        rows = generate_dataset(
            state.paths.run_data_dir,
            GeneratorConfig(seed=config.seed, users=config.users, as_of=config.as_of,
                            days=config.days, faults=config.faults),
        )
    except GeneratorInputError as exc:
        raise StepError(str(exc)) from exc
    faults_file = state.paths.run_data_dir / "faults.json"
    details: dict[str, Any] = {"rows": dict(rows), "data_dir": str(state.paths.run_data_dir)}
    if faults_file.exists():
        details["faults_file"] = str(faults_file)
    return StepResult(details)


def step_load_raw(state: RunState) -> StepResult:
    """Load raw; ``$CARTON_CAPS_MAX_REJECT_SHARE`` sets the loader's reject threshold.

    A failed load leaves the table it failed on and a sample of its rejected rows
    (``ingestion.rejects_sample``) in the manifest: the load itself is rolled back.
    """
    try:
        max_reject_share = max_reject_share_from_env()
    except ValueError as exc:
        raise StepError(str(exc)) from None
    try:
        report = loader.load_raw(
            state.paths.run_data_dir, state.paths.building_snapshot, state.config.run_id,
            max_reject_share=max_reject_share,
            duckdb_config=duckdb_settings.connect_config(state.paths.building_snapshot,
                                                         state.config.run_id))
    except loader.LoadError as exc:
        raise StepError(str(exc), manifest={"ingestion": {
            "max_reject_share": max_reject_share, "failed_table": exc.table,
            "rejects_sample": [dict(r) for r in exc.rejects]}}) from exc
    tables = {t.table: asdict(t) for t in report.tables}
    ingestion = {
        "max_reject_share": max_reject_share,
        "ingested_at": manifest_io.iso(report.ingested_at),
        "tables": tables,
        "schema_drift": list(report.schema_drift),
    }
    for warning in report.warnings:
        logger.warning("  warning: %s", warning)
    return StepResult({"tables": len(tables), "rows": sum(t.rows_loaded for t in report.tables)},
                      manifest={"ingestion": ingestion}, warnings=tuple(report.warnings))


def dbt_invocation(state: RunState) -> DbtInvocation:
    return DbtInvocation(db_path=state.paths.building_snapshot, work_dir=state.paths.dbt_dir,
                         as_of=state.config.as_of.isoformat(),
                         pii_key=pii_key(state.paths.home))


def step_dbt_build(state: RunState) -> StepResult:
    """``dbt build``. A failing build still reports its failing nodes, their compiled SQL
    and sample failing rows, and the raw contract's results (the snapshot is discarded)."""
    invocation = dbt_invocation(state)
    artifacts = {**state.document["artifacts"], "dbt_target": str(invocation.target_path)}
    try:
        summary = dbt_build(invocation)
    except DbtError as exc:
        failure = obs_steps.dbt_failure_record(state, exc.summary or state.document["dbt"])
        raise StepError(str(exc), manifest={"artifacts": artifacts, **failure}) from exc
    except Exception as exc:
        failure = obs_steps.dbt_failure_record(state, state.document["dbt"])
        with_manifest(exc, {"artifacts": artifacts, **failure})
        raise
    return StepResult({key: summary[key] for key in ("pass", "warn", "error", "skip", "total")},
                      manifest={"artifacts": artifacts, "dbt": summary})


def step_source_freshness(state: RunState) -> StepResult:
    result = dbt_source_freshness(dbt_invocation(state))
    statuses: dict[str, int] = {}
    for item in result.get("results", []):
        statuses[str(item["status"])] = statuses.get(str(item["status"]), 0) + 1
    warnings = tuple(f"source freshness {item['status']}: {item['unique_id']}"
                     for item in result.get("results", [])
                     if item["status"] not in ("pass", None))
    return StepResult({"statuses": statuses}, manifest={"freshness": result},
                      warnings=warnings)


def _row_counts(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    tables = [row[0] for row in con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [schema],
    ).fetchall()]
    counts = {}
    for table in tables:
        quoted = f'"{schema}"."{table}"'
        counts[table] = con.execute(f"select count(*) from {quoted}").fetchone()[0]  # noqa: S608
    return counts


def step_schema_snapshot(state: RunState) -> StepResult:
    """Every declared ``ops`` table is created (empty) first, then the schema is captured.

    The capture then describes the published snapshot's whole ``ops`` schema although
    most of those tables receive their rows in later steps (which never change columns).
    """
    with duckdb.connect(str(state.paths.building_snapshot)) as con:
        created = ops_tables.create_all(con)
    with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
        columns = schema_snapshot.capture(con)
        row_counts = {"raw": _row_counts(con, "raw"), "marts": _row_counts(con, "marts")}
    document = {"run_id": state.config.run_id, "columns": columns}
    state.paths.schema_snapshot.write_text(json.dumps(document, indent=1) + "\n",
                                           encoding="utf-8")
    artifacts = {**state.document["artifacts"],
                 "schema_snapshot": str(state.paths.schema_snapshot)}
    return StepResult({"tables": len({(c["schema"], c["table"]) for c in columns}),
                       "columns": len(columns), "ops_tables": len(created)},
                      manifest={"row_counts": row_counts, "artifacts": artifacts})


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
        # Recorded before signals are let through again: from here on the run is published.
        state.document["previous_run_id"] = previous
        state.document["pointer_updated"] = True
        state.document["snapshot"] = {"path": str(paths.snapshot), **fingerprint}
    return StepResult({"snapshot": paths.snapshot.name, "previous_run_id": previous})


STEPS: tuple[tuple[str, Step], ...] = (
    ("generate", step_generate),
    ("load_raw", step_load_raw),
    ("dbt_build", step_dbt_build),
    ("source_freshness", step_source_freshness),
    ("schema_snapshot", step_schema_snapshot),
    ("dbt_artifacts", obs_steps.step_dbt_artifacts),
    ("contracts", obs_steps.step_contracts),
    ("schema_drift", obs_steps.step_schema_drift),
    ("volume_anomalies", obs_steps.step_volume_anomalies),
    ("quality_gate", obs_steps.step_quality_gate),
    ("record_ops", obs_steps.step_record_ops),
    ("publish", step_publish),
)


# --------------------------------------------------------------------------- lifecycle


def remove_building_files(paths: RunPaths) -> None:
    """Delete a half-built database (its WAL, dbt's link to it) so nothing unfinished lingers."""
    for candidate in (paths.building_snapshot,
                      paths.building_snapshot.with_name(paths.building_snapshot.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
    dbt_runner.remove_db_link(paths.dbt_dir)


def sweep_abandoned(paths: RunPaths) -> list[str]:
    """Settle runs killed without a chance to clean up (SIGKILL, power loss).

    Their manifests still say ``running``; a run whose process is gone on this host can
    never finish. If it died after moving the pointer, its snapshot is being served and
    the run is recorded as the success it was. Otherwise it is ``interrupted`` and its
    leftovers are removed: the ``.building`` file and, if it died between the rename and
    the pointer move, the never-published snapshot (no reader was ever pointed at it).
    """
    swept = []
    try:
        served = read_pointer(paths)
    except PointerError:
        served = None
    for document in manifest_io.load_all(paths):
        if (document.get("status") != "running" or document["run_id"] == paths.run_id
                or manifest_io.is_running(document)):
            continue
        other = paths.run(document["run_id"])
        remove_building_files(other)
        if served == document["run_id"]:
            document["status"] = "success"
            document["pointer_updated"] = True
            # it died before recording its fingerprint: take it now, so it stays verifiable
            document["snapshot"] = {"path": str(other.snapshot),
                                    **integrity.fingerprint(other.snapshot)}
        else:
            with contextlib.suppress(FileNotFoundError):
                other.snapshot.unlink()
            _settle_as_killed(document, settled_by=paths.run_id)
        manifest_io.save(other.manifest, document)
        swept.append(document["run_id"])
    return swept


def _settle_as_killed(document: dict[str, Any], *, settled_by: str) -> None:
    """Record a killed run as a finished ``interrupted`` one: when it was settled, the step
    it died in, and who found it dead, so it reads like any other stopped run."""
    cause = (f"process {document.get('pid')} on {document.get('host')} was found dead by "
             f"run {settled_by}; the run was killed without a chance to clean up")
    running = [step for step in document.get("steps", []) if step.get("status") == "running"]
    for step in running:
        step["status"] = "interrupted"
        step["error"] = cause
    document["status"] = "interrupted"
    document["finished_at"] = manifest_io.iso(manifest_io.utc_now())
    document["failed_step"] = document.get("failed_step") or (
        running[-1]["name"] if running else None)
    document["error"] = document.get("error") or cause


class PipelineRun:
    """Executes STEPS for one config, keeping the manifest current after every step."""

    def __init__(self, config: RunConfig, steps: tuple[tuple[str, Step], ...] = STEPS) -> None:
        self.config = config
        self.paths = RunPaths(home=config.home, run_id=config.run_id)
        self.steps = steps
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
            for swept in sweep_abandoned(self.paths):
                logger.info("  note: run %s had been killed; its manifest is now settled", swept)
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
        except Exception:
            status, exit_code = "failed", EXIT_FAILED
        finally:
            # a second signal must not cut the clean-up and the final manifest short
            with interrupts.deferred():
                # dbt's worker lives from dbt_build to source_freshness: never past the run.
                # Here it only stops a failed run's worker; the outcome is already decided.
                with contextlib.suppress(Exception):
                    dbt_runner.close_session(dbt_invocation(state))
                if status != "success":
                    remove_building_files(self.paths)
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
            message = f"{disk_full_message(self.paths.home)}; {message}"
        self._finish_step(record, start, "failed", message)
        document["failed_step"] = name
        document["error"] = message
        logger.error("✗ %-17s %s", name, message)
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
