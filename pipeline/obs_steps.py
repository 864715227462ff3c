"""The observability steps of a run: dbt artefacts, contracts, drift, volumes, ops tables.

Each step reads the run's building snapshot and the earlier steps' results, writes its
ops table's rows into the snapshot and its key into the manifest. The ops tables
themselves (declared in :mod:`foundation.ops_tables`) are created empty before the schema
snapshot is taken (:func:`with_ops_tables`), so the snapshot describes all of them.
Checks record first and judge last: ``quality_gate`` fails the run (pointer unchanged)
when a contract check of severity ``fail`` failed, after every finding has been written
to the manifest.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import duckdb
from foundation import ops_tables
from pipeline import anomalies, contracts, dbt_artifacts, drift, duckdb_settings
from pipeline.dbt_runner import DbtError
from pipeline.errors import StepError
from pipeline.run_state import RunState, Step

logger = logging.getLogger(__name__)

RAW_CONTRACT = "raw.odcs.yaml"


def _target_path(state: RunState) -> Path:
    return state.paths.dbt_dir / "target"


def _contract_cache(state: RunState) -> Path:
    return state.paths.logs_dir / ".contract_cache"


def with_dbt_failure_details(step: Step) -> Step:
    """Wrap ``dbt_build`` so that a failing build still leaves its failing nodes, their
    compiled SQL and sample failing rows in the manifest (the snapshot is discarded)."""

    def observed_dbt_build(state: RunState) -> dict[str, Any]:
        try:
            return step(state)
        except Exception as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, DbtError) else exc
            try:
                artifacts = dbt_artifacts.load(_target_path(state))
                samples: list[dbt_artifacts.TestSample] = []
                if state.paths.building_snapshot.exists():
                    with duckdb.connect(str(state.paths.building_snapshot),
                                        read_only=True) as con:
                        samples = dbt_artifacts.sample_failing_tests(
                            artifacts, con, limit=dbt_artifacts.MANIFEST_SAMPLE_ROWS)
                if artifacts.results():
                    state.document["dbt"]["failures"] = dbt_artifacts.manifest_failures(
                        artifacts, samples)
            except Exception:  # never hide the build's own error behind ours
                logger.debug("could not read dbt artefacts after %s", cause, exc_info=True)
            _raw_contracts_after_failure(state)
            raise

    observed_dbt_build.__name__ = getattr(step, "__name__", "dbt_build")
    return observed_dbt_build


def with_ops_tables(step: Step) -> Step:
    """Wrap ``schema_snapshot`` so that every declared ``ops`` table exists (empty) first.

    The capture then describes the published snapshot's whole ``ops`` schema although
    most of those tables receive their rows in later steps (which never change columns).
    """

    def prepared(state: RunState) -> dict[str, Any]:
        with duckdb.connect(str(state.paths.building_snapshot)) as con:
            created = ops_tables.create_all(con)
        return {**step(state), "ops_tables": len(created)}

    prepared.__name__ = getattr(step, "__name__", "schema_snapshot")
    return prepared


def _raw_contracts_after_failure(state: RunState) -> None:
    """The raw layer is complete even when dbt failed: record what its contract says."""
    if not state.paths.building_snapshot.exists():
        return
    try:
        report = contracts.evaluate(state.paths.building_snapshot, as_of=state.config.as_of,
                                    days=state.config.days, only=(RAW_CONTRACT,),
                                    cache_dir=_contract_cache(state))
    except Exception:
        logger.debug("raw contract not evaluated after the dbt failure", exc_info=True)
        return
    state.document["contracts"] = {**report.to_manifest(),
                                   "scope": "raw contract only (dbt build failed)"}


def step_dbt_artifacts(state: RunState) -> dict[str, Any]:
    """run_results / manifest / sources -> ops.dbt_*; failing tests keep sample rows."""
    artifacts = dbt_artifacts.load(_target_path(state))
    with duckdb.connect(str(state.paths.building_snapshot)) as con:
        samples = dbt_artifacts.sample_failing_tests(artifacts, con)
        counts = dbt_artifacts.write(con, state.config.run_id, artifacts, samples)
    state.document["dbt"]["failures"] = dbt_artifacts.manifest_failures(artifacts, samples)
    state.document["dbt"]["artifacts"] = artifacts.available
    for failure in state.document["dbt"]["failures"]:
        message = (f"dbt {failure['status']}: {failure['unique_id']} "
                   f"({failure.get('failures')} failing rows)")
        state.document["warnings"].append({"step": "dbt_artifacts", "message": message})
    return counts


def step_contracts(state: RunState) -> dict[str, Any]:
    """Evaluate contracts/*.odcs.yaml; results to ops.contract_results and the manifest."""
    try:
        report = contracts.evaluate(
            state.paths.building_snapshot, as_of=state.config.as_of, days=state.config.days,
            cache_dir=_contract_cache(state),
            duckdb_config=duckdb_settings.connect_config(state.paths.building_snapshot,
                                                         state.config.run_id))
    except contracts.ContractError as exc:
        raise StepError(str(exc)) from exc
    with duckdb.connect(str(state.paths.building_snapshot)) as con:
        contracts.write_results(con, state.config.run_id, report)
    state.document["contracts"] = report.to_manifest()
    for result in report.failing:
        column = f".{result.column}" if result.column else ""
        message = (f"contract {result.status}: {result.layer}.{result.table}{column} "
                   f"{result.check} (measured {result.measured}, expected {result.threshold})")
        state.document["warnings"].append({"step": "contracts", "message": message})
        logger.warning("  %s", message)
    return report.summary()


def step_schema_drift(state: RunState) -> dict[str, Any]:
    """ops.schema_columns + the diff against the previous successful run's snapshot."""
    columns = drift.read_snapshot(state.paths.schema_snapshot)
    if columns is None:
        with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
            from pipeline import schema_snapshot
            columns = schema_snapshot.capture(con)
    loader_drift = list((state.document.get("ingestion") or {}).get("schema_drift") or [])
    report = drift.compare_with_previous(state.paths, state.config.run_id,
                                         state.document.get("started_at"), columns,
                                         loader_drift)
    with duckdb.connect(str(state.paths.building_snapshot)) as con:
        counts = drift.write(con, state.config.run_id, columns, report)
    state.document["schema_drift"] = report.to_manifest()
    for change in report.changes:
        state.document["warnings"].append({"step": "schema_drift",
                                           "message": f"schema drift: {change.detail}"})
    return {**counts, "previous_run_id": report.previous_run_id}


def step_volume_anomalies(state: RunState) -> dict[str, Any]:
    """Row counts vs comparable earlier runs; a change beyond tolerance is a WARN."""
    baselines = anomalies.baseline_runs(state.paths, state.config.run_id, state.config.params(),
                                        state.document.get("started_at"))
    report = anomalies.check_counts(state.document.get("row_counts") or {}, baselines)
    with duckdb.connect(str(state.paths.building_snapshot)) as con:
        anomalies.write(con, state.config.run_id, report)
    state.document["anomalies"] = report.to_manifest()
    for check in report.anomalies:
        state.document["warnings"].append({"step": "volume_anomalies",
                                           "message": f"volume anomaly: {check.message}"})
    return {"baseline_runs": len(baselines), "checked": len(report.checks),
            "warn": len(report.anomalies)}


def step_quality_gate(state: RunState) -> dict[str, Any]:
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
    return {"contract_failures": 0,
            "warnings": len(state.document.get("warnings") or [])}


def step_record_ops(state: RunState) -> dict[str, Any]:
    """``ops.pipeline_runs`` and ``ops.pipeline_steps``: the snapshot describes itself.

    The manifest stored here is the one as of this step (publication follows), so its
    ``pointer_updated`` is still false; ``logs/pipeline_<run_id>.json`` has the final one.
    """
    document, params = state.document, state.config.params()
    summary = (document.get("contracts") or {}).get("summary") or {}
    counts = document.get("row_counts") or {}
    with duckdb.connect(str(state.paths.building_snapshot)) as con:
        ops_tables.replace_rows(con, "pipeline_runs", [])
        con.execute(
            "insert into ops.pipeline_runs values (?, 'success', "
            "cast(? as timestamptz) at time zone 'UTC', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?)",
            [state.config.run_id, document["started_at"], params["seed"], params["users"],
             params["as_of"], params["days"], ",".join(params["faults"]),
             document.get("git_commit"), document.get("previous_run_id"),
             (document.get("schema_drift") or {}).get("previous_run_id"),
             document["dbt"].get("pass"), document["dbt"].get("warn"),
             document["dbt"].get("error"), summary.get("pass"), summary.get("warn"),
             summary.get("fail"),
             ((document.get("schema_drift") or {}).get("summary") or {}).get("changes"),
             ((document.get("anomalies") or {}).get("summary") or {}).get("warn"),
             len(document.get("warnings") or []), sum((counts.get("raw") or {}).values()),
             sum((counts.get("marts") or {}).values()), json.dumps(document, default=str)],
        )
        steps = [(state.config.run_id, number, step["name"], step["status"],
                  step.get("started_at"), step.get("duration_s"),
                  json.dumps(step.get("details"), default=str))
                 for number, step in enumerate(document["steps"], start=1)]
        ops_tables.replace_rows(con, "pipeline_steps", steps)
    return {"tables": ["ops.pipeline_runs", "ops.pipeline_steps"]}
