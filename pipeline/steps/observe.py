"""The observability steps of a run: dbt artefacts, contracts, drift, volumes, ops tables.

Each step reads the run's building snapshot and the earlier steps' results (the manifest
so far), writes its ops table's rows into the snapshot and returns its manifest section
and warnings in a :class:`~pipeline.lifecycle.step_types.StepResult` for the runner to record. The
ops tables themselves (declared in :mod:`foundation.ops_tables`) are created empty by
the ``schema_snapshot`` step before it captures the schema, so the snapshot describes
all of them.
Checks record first and judge last: ``quality_gate`` fails the run (pointer unchanged)
when a contract check of severity ``fail`` failed, after every finding has been written
to the manifest.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, date, datetime

import duckdb
from pipeline.checks import contract_reuse, contracts, drift, metric_anomalies, volume
from pipeline.lifecycle import duckdb_settings
from pipeline.lifecycle.errors import StepError
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records.run_manifest import ManifestUpdate
from pipeline.transform import artifacts as dbt_artifacts

logger = logging.getLogger(__name__)


def step_dbt_artifacts(state: RunState) -> StepResult:
    """run_results / manifest / sources -> ops.dbt_*; failing tests keep sample rows."""
    artifacts = dbt_artifacts.load(state.paths.dbt_target, within=state.paths.home)
    with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
        samples = dbt_artifacts.sample_failing_tests(artifacts, con)
    rows = dbt_artifacts.ops_rows(state.config.run_id, artifacts, samples)
    failures = dbt_artifacts.manifest_failures(artifacts, samples)
    dbt = dataclasses.replace(state.manifest.dbt, failures=tuple(failures),
                              artifacts=artifacts.available)
    warnings = tuple(f"dbt {failure['status']}: {failure['unique_id']} "
                     f"({failure.get('failures')} failing rows)" for failure in failures)
    return StepResult({table: len(table_rows) for table, table_rows in rows.items()},
                      manifest=ManifestUpdate(dbt=dbt), warnings=warnings, ops=rows)


def _measured_by_dbt(state: RunState) -> dict[contract_reuse.PropertyKey,
                                              contract_reuse.DbtMeasurement]:
    """What this run's dbt tests counted on the snapshot the contracts read: nothing on
    Spark, whose tests counted Spark's tables (:mod:`pipeline.checks.contract_reuse`)."""
    if state.config.engine != "duckdb":
        return {}
    return contract_reuse.measured_by_dbt(
        dbt_artifacts.load(state.paths.dbt_target, within=state.paths.home))


def step_contracts(state: RunState) -> StepResult:
    """Evaluate contracts/*.odcs.yaml; results to ops.contract_results and the manifest."""
    try:
        report = contracts.evaluate(
            state.paths.building_snapshot, as_of=state.config.as_of, days=state.config.days,
            cache_dir=state.paths.contract_cache_dir,
            duckdb_config=duckdb_settings.connect_config(state.paths.building_snapshot,
                                                         state.config.run_id),
            measured_by_dbt=_measured_by_dbt(state))
    except contracts.ContractError as exc:
        raise StepError(str(exc)) from exc
    warnings = []
    for result in report.failing:
        column = f".{result.column}" if result.column else ""
        message = (f"contract {result.status}: {result.layer}.{result.table}{column} "
                   f"{result.check} (measured {result.measured}, expected {result.threshold})")
        warnings.append(message)
        logger.warning("  %s", message)
    return StepResult(report.summary(), manifest=ManifestUpdate(contracts=report.to_manifest()),
                      warnings=tuple(warnings),
                      ops=contracts.ops_rows(state.config.run_id, report))


def step_schema_drift(state: RunState) -> StepResult:
    """ops.schema_columns + the diff against the previous successful run's snapshot."""
    try:
        columns = drift.read_snapshot(state.paths.schema_snapshot, home=state.paths.home)
    except drift.SchemaSnapshotError:
        columns = None  # replaced under the run's feet: capture the snapshot again
    if columns is None:
        with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
            from pipeline.checks import schema_snapshot
            columns = schema_snapshot.capture(con)
    loader_drift = list(state.manifest.ingestion.get("schema_drift") or [])
    report = drift.compare_with_previous(state.paths, state.config.run_id,
                                         state.manifest.started_at, columns, loader_drift)
    rows = drift.ops_rows(state.config.run_id, columns, report)
    return StepResult({**{table: len(table_rows) for table, table_rows in rows.items()},
                       "previous_run_id": report.previous_run_id},
                      manifest=ManifestUpdate(schema_drift=report.to_manifest()),
                      warnings=tuple(f"schema drift: {c.detail}" for c in report.changes),
                      ops=rows)


def step_volume_anomalies(state: RunState) -> StepResult:
    """Row counts vs comparable earlier runs; a change beyond tolerance is a WARN."""
    baselines = volume.baseline_runs(state.paths, state.config.run_id,
                                     state.config.params().to_json(), state.manifest.started_at)
    report = volume.check_counts(state.manifest.row_counts.to_json(), baselines)
    return StepResult({"baseline_runs": len(baselines), "checked": len(report.checks),
                       "warn": len(report.anomalies)},
                      manifest=ManifestUpdate(anomalies=report.to_manifest()),
                      warnings=tuple(f"volume anomaly: {c.message}" for c in report.anomalies),
                      ops=volume.ops_rows(state.config.run_id, report))


def step_metric_anomalies(state: RunState) -> StepResult:
    """The flagged days of the anomaly marts (scored by dbt on every build), by root cause:
    the run's health makes each a warning finding; an anomaly never fails a run."""
    with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
        flagged = metric_anomalies.read_flagged(con)
    causes = metric_anomalies.group_causes(flagged)
    for cause in causes:
        logger.warning("  metric anomaly: %s", cause.describe())
    return StepResult({"flagged_rows": len(flagged), "causes": len(causes)},
                      manifest=ManifestUpdate(metric_anomalies=metric_anomalies.to_manifest(
                          causes, len(flagged))))


def step_quality_gate(state: RunState) -> StepResult:
    """Fail the run when a contract check of severity ``fail`` failed."""
    failing = [r for r in state.manifest.contracts.get("failing", []) if r["status"] == "FAIL"]
    if failing:
        names = ", ".join(
            f"{r['layer']}.{r['table']}{'.' + r['column'] if r['column'] else ''} {r['check']}"
            for r in failing[:5])
        more = f" (+{len(failing) - 5} more)" if len(failing) > 5 else ""
        raise StepError(f"data contracts failed: {len(failing)} failing check(s): "
                          f"{names}{more}")
    return StepResult({"contract_failures": 0, "warnings": len(state.manifest.warnings)})


def step_record_ops(state: RunState) -> StepResult:
    """``ops.pipeline_runs`` and ``ops.pipeline_steps``: the snapshot describes itself.

    The manifest stored here is the one as of this step (publication follows), so its
    ``pointer_updated`` is still false; ``logs/pipeline_<run_id>.json`` has the final one.
    """
    manifest, params = state.manifest, state.config.params()
    summary = manifest.contracts.get("summary") or {}
    started_at = datetime.fromisoformat(manifest.started_at).astimezone(UTC)
    run = {
        "run_id": state.config.run_id, "status": "success",
        "started_at": started_at.replace(tzinfo=None), "seed": params.seed,
        "users": params.users, "as_of": date.fromisoformat(params.as_of), "days": params.days,
        "faults": ",".join(params.faults),
        "health_status": (manifest.health or {}).get("status"),
        "findings": len((manifest.health or {}).get("findings") or []),
        "git_commit": manifest.git_commit,
        "previous_run_id": manifest.previous_run_id,
        "previous_successful_run_id": manifest.schema_drift.get("previous_run_id"),
        "dbt_pass": manifest.dbt.passed, "dbt_warn": manifest.dbt.warn,
        "dbt_error": manifest.dbt.error, "contract_pass": summary.get("pass"),
        "contract_warn": summary.get("warn"), "contract_fail": summary.get("fail"),
        "schema_changes": (manifest.schema_drift.get("summary") or {}).get("changes"),
        "volume_warnings": (manifest.anomalies.get("summary") or {}).get("warn"),
        "warnings": len(manifest.warnings),
        "raw_rows": sum(manifest.row_counts.raw.values()),
        "mart_rows": sum(manifest.row_counts.marts.values()),
        "manifest_json": json.dumps(manifest.to_json(), default=str),
    }
    steps = [{"run_id": state.config.run_id, "step_number": number, "step_name": step.name,
              "status": step.status, "started_at": step.started_at,
              "duration_s": step.duration_s,
              "details_json": json.dumps(step.details, default=str)}
             for number, step in enumerate(manifest.steps, start=1)]
    return StepResult({"tables": ["ops.pipeline_runs", "ops.pipeline_steps"]},
                      ops={"pipeline_runs": [run], "pipeline_steps": steps})
