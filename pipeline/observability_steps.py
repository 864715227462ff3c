"""The observability steps of a run: dbt artefacts, contracts, drift, volumes, ops tables.

Each step reads the run's building snapshot and the earlier steps' results (the manifest
so far), writes its ops table's rows into the snapshot and returns its manifest section
and warnings in a :class:`~pipeline.step_types.StepResult` for the runner to record. The
ops tables themselves (declared in :mod:`foundation.ops_tables`) are created empty by
the ``schema_snapshot`` step before it captures the schema, so the snapshot describes
all of them.
Checks record first and judge last: ``quality_gate`` fails the run (pointer unchanged)
when a contract check of severity ``fail`` failed, after every finding has been written
to the manifest.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from pipeline import anomalies, contracts, dbt_artifacts, drift, duckdb_settings
from pipeline.errors import StepError
from pipeline.step_types import RunState, StepResult

logger = logging.getLogger(__name__)

RAW_CONTRACT = "raw.odcs.yaml"


def _target_path(state: RunState) -> Path:
    return state.paths.dbt_dir / "target"


def _contract_cache(state: RunState) -> Path:
    return state.paths.logs_dir / ".contract_cache"


def dbt_failure_record(state: RunState, dbt: dict[str, Any]) -> dict[str, Any]:
    """The manifest sections a failed ``dbt build`` leaves: ``dbt`` (``dbt``, the build's
    summary, with its failing nodes, their compiled SQL and sample failing rows) and
    ``contracts`` (the raw contract's results: the raw layer is complete even then)."""
    dbt = dict(dbt)
    try:
        artifacts = dbt_artifacts.load(_target_path(state), within=state.paths.home)
        samples: list[dbt_artifacts.TestSample] = []
        if state.paths.building_snapshot.exists():
            with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
                samples = dbt_artifacts.sample_failing_tests(
                    artifacts, con, limit=dbt_artifacts.MANIFEST_SAMPLE_ROWS)
        if artifacts.results():
            dbt["failures"] = dbt_artifacts.manifest_failures(artifacts, samples)
    except Exception:  # never hide the build's own error behind ours
        logger.debug("could not read dbt artefacts after a failed build", exc_info=True)
    updates: dict[str, Any] = {"dbt": dbt}
    raw = _raw_contracts_after_failure(state)
    if raw is not None:
        updates["contracts"] = raw
    return updates


def _raw_contracts_after_failure(state: RunState) -> dict[str, Any] | None:
    """The raw layer is complete even when dbt failed: what its contract says."""
    if not state.paths.building_snapshot.exists():
        return None
    try:
        report = contracts.evaluate(state.paths.building_snapshot, as_of=state.config.as_of,
                                    days=state.config.days, only=(RAW_CONTRACT,),
                                    cache_dir=_contract_cache(state))
    except Exception:
        logger.debug("raw contract not evaluated after the dbt failure", exc_info=True)
        return None
    return {**report.to_manifest(), "scope": "raw contract only (dbt build failed)"}


def step_dbt_artifacts(state: RunState) -> StepResult:
    """run_results / manifest / sources -> ops.dbt_*; failing tests keep sample rows."""
    artifacts = dbt_artifacts.load(_target_path(state), within=state.paths.home)
    with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
        samples = dbt_artifacts.sample_failing_tests(artifacts, con)
    rows = dbt_artifacts.ops_rows(state.config.run_id, artifacts, samples)
    failures = dbt_artifacts.manifest_failures(artifacts, samples)
    dbt = {**state.document["dbt"], "failures": failures, "artifacts": artifacts.available}
    warnings = tuple(f"dbt {failure['status']}: {failure['unique_id']} "
                     f"({failure.get('failures')} failing rows)" for failure in failures)
    return StepResult({table: len(table_rows) for table, table_rows in rows.items()},
                      manifest={"dbt": dbt}, warnings=warnings, ops=rows)


def step_contracts(state: RunState) -> StepResult:
    """Evaluate contracts/*.odcs.yaml; results to ops.contract_results and the manifest."""
    try:
        report = contracts.evaluate(
            state.paths.building_snapshot, as_of=state.config.as_of, days=state.config.days,
            cache_dir=_contract_cache(state),
            duckdb_config=duckdb_settings.connect_config(state.paths.building_snapshot,
                                                         state.config.run_id))
    except contracts.ContractError as exc:
        raise StepError(str(exc)) from exc
    warnings = []
    for result in report.failing:
        column = f".{result.column}" if result.column else ""
        message = (f"contract {result.status}: {result.layer}.{result.table}{column} "
                   f"{result.check} (measured {result.measured}, expected {result.threshold})")
        warnings.append(message)
        logger.warning("  %s", message)
    return StepResult(report.summary(), manifest={"contracts": report.to_manifest()},
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
            from pipeline import schema_snapshot
            columns = schema_snapshot.capture(con)
    loader_drift = list((state.document.get("ingestion") or {}).get("schema_drift") or [])
    report = drift.compare_with_previous(state.paths, state.config.run_id,
                                         state.document.get("started_at"), columns,
                                         loader_drift)
    rows = drift.ops_rows(state.config.run_id, columns, report)
    return StepResult({**{table: len(table_rows) for table, table_rows in rows.items()},
                       "previous_run_id": report.previous_run_id},
                      manifest={"schema_drift": report.to_manifest()},
                      warnings=tuple(f"schema drift: {c.detail}" for c in report.changes),
                      ops=rows)


def step_volume_anomalies(state: RunState) -> StepResult:
    """Row counts vs comparable earlier runs; a change beyond tolerance is a WARN."""
    baselines = anomalies.baseline_runs(state.paths, state.config.run_id, state.config.params(),
                                        state.document.get("started_at"))
    report = anomalies.check_counts(state.document.get("row_counts") or {}, baselines)
    return StepResult({"baseline_runs": len(baselines), "checked": len(report.checks),
                       "warn": len(report.anomalies)},
                      manifest={"anomalies": report.to_manifest()},
                      warnings=tuple(f"volume anomaly: {c.message}" for c in report.anomalies),
                      ops=anomalies.ops_rows(state.config.run_id, report))


def step_quality_gate(state: RunState) -> StepResult:
    """Fail the run when a contract check of severity ``fail`` failed."""
    failing = [r for r in (state.document.get("contracts") or {}).get("failing", [])
               if r["status"] == "FAIL"]
    if failing:
        names = ", ".join(
            f"{r['layer']}.{r['table']}{'.' + r['column'] if r['column'] else ''} {r['check']}"
            for r in failing[:5])
        more = f" (+{len(failing) - 5} more)" if len(failing) > 5 else ""
        raise StepError(f"data contracts failed: {len(failing)} failing check(s): "
                          f"{names}{more}")
    return StepResult({"contract_failures": 0,
                       "warnings": len(state.document.get("warnings") or [])})


def step_record_ops(state: RunState) -> StepResult:
    """``ops.pipeline_runs`` and ``ops.pipeline_steps``: the snapshot describes itself.

    The manifest stored here is the one as of this step (publication follows), so its
    ``pointer_updated`` is still false; ``logs/pipeline_<run_id>.json`` has the final one.
    """
    document, params = state.document, state.config.params()
    summary = (document.get("contracts") or {}).get("summary") or {}
    counts = document.get("row_counts") or {}
    started_at = datetime.fromisoformat(document["started_at"]).astimezone(UTC)
    run = (state.config.run_id, "success", started_at.replace(tzinfo=None), params["seed"],
           params["users"], date.fromisoformat(params["as_of"]), params["days"],
           ",".join(params["faults"]), document.get("git_commit"),
           document.get("previous_run_id"),
           (document.get("schema_drift") or {}).get("previous_run_id"),
           document["dbt"].get("pass"), document["dbt"].get("warn"),
           document["dbt"].get("error"), summary.get("pass"), summary.get("warn"),
           summary.get("fail"),
           ((document.get("schema_drift") or {}).get("summary") or {}).get("changes"),
           ((document.get("anomalies") or {}).get("summary") or {}).get("warn"),
           len(document.get("warnings") or []), sum((counts.get("raw") or {}).values()),
           sum((counts.get("marts") or {}).values()), json.dumps(document, default=str))
    steps = [(state.config.run_id, number, step["name"], step["status"],
              step.get("started_at"), step.get("duration_s"),
              json.dumps(step.get("details"), default=str))
             for number, step in enumerate(document["steps"], start=1)]
    return StepResult({"tables": ["ops.pipeline_runs", "ops.pipeline_steps"]},
                      ops={"pipeline_runs": [run], "pipeline_steps": steps})
