"""The steps that build a run's snapshot: generate, load raw, source freshness, dbt
build, schema snapshot.

Each is a function of the run's :class:`~pipeline.lifecycle.step_types.RunState`
returning a :class:`~pipeline.lifecycle.step_types.StepResult`; :mod:`pipeline.steps`
orders them per engine and :mod:`pipeline.lifecycle.runner` records what they return.
The observability steps are in :mod:`pipeline.steps.observe`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

import duckdb
import loader
from foundation import ops_tables
from pipeline.checks import schema_snapshot
from pipeline.checks.row_counts import count_rows
from pipeline.lifecycle import duckdb_settings
from pipeline.lifecycle.errors import StepError, with_manifest
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records import manifest as manifest_io
from pipeline.records import pii_key
from pipeline.records.run_manifest import ManifestUpdate, Section
from pipeline.steps import source_files, sources
from pipeline.steps.dbt_failure import dbt_failure_record
from pipeline.steps.reject_threshold import max_reject_share as max_reject_share_from_env
from pipeline.transform import session as dbt_session
from pipeline.transform.commands import build as dbt_build
from pipeline.transform.commands import source_freshness as dbt_source_freshness
from pipeline.transform.invocation import DbtError, DbtInvocation

logger = logging.getLogger(__name__)


def step_generate(state: RunState) -> StepResult:
    from generator.data_generator import GeneratorConfig, GeneratorInputError, generate_dataset

    config = state.config
    # the source export keeps the plaintext PII an audit may need (raw is hashed): the
    # run's folder is readable by its owner only
    out_dir = sources.generate_dir(state)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    out_dir.chmod(0o700)
    try:
        rows = generate_dataset(
            out_dir,
            GeneratorConfig(seed=config.seed, users=config.users, as_of=config.as_of,
                            days=config.days, faults=config.faults),
        )
    except GeneratorInputError as exc:
        raise StepError(str(exc)) from exc
    faults_file = out_dir / "faults.json"
    details: dict[str, Any] = {"rows": dict(rows), "data_dir": str(out_dir)}
    if faults_file.exists():
        details["faults_file"] = str(faults_file)
    artifacts = {**state.manifest.artifacts, "data_dir": sources.source_location(state).uri()}
    return StepResult(details, manifest=ManifestUpdate(artifacts=artifacts))


def _pii_key(state: RunState) -> tuple[pii_key.PiiKey, Section]:
    """The home's PII key and the run's record of it (fingerprint, compared with the
    previous successful run's: pipeline/records/pii_key.py)."""
    try:
        key = pii_key.load_key(state.paths.home)
    except (pii_key.PiiKeyError, OSError, UnicodeDecodeError) as exc:
        raise StepError(f"PII key: {exc}") from exc
    previous = manifest_io.previous_successful(state.paths, state.config.run_id,
                                               state.manifest.started_at)
    return key, pii_key.run_record(key, previous)


def step_load_raw(state: RunState) -> StepResult:
    """Load raw from the run's sources (a local folder, or object storage through
    :mod:`pipeline.steps.source_files`), PII hashed with the home's key as it lands
    (``pii_key`` in the manifest, a warning when the key changed since the previous
    successful run); ``$CARTON_CAPS_MAX_REJECT_SHARE`` sets the loader's reject threshold.
    The manifest's ``sources`` is checked against the bytes loaded (or, for a run
    generated on local disk, made from the loader's hashes).

    A failed load leaves the table it failed on and a sample of its rejected rows
    (``ingestion.rejects_sample``, PII masked by the loader) in the manifest: the load
    itself is rolled back.
    """
    try:
        max_reject_share = max_reject_share_from_env()
    except ValueError as exc:
        raise StepError(str(exc)) from None
    key, key_record = _pii_key(state)
    inputs = source_files.open_sources(state)
    try:
        report = loader.load_raw(
            inputs.files, state.paths.building_snapshot, state.config.run_id,
            pii_key=key.secret, max_reject_share=max_reject_share,
            duckdb_config=duckdb_settings.connect_config(state.paths.building_snapshot,
                                                         state.config.run_id))
    except loader.LoadError as exc:
        raise StepError(str(exc), manifest=ManifestUpdate(pii_key=key_record, ingestion={
            "max_reject_share": max_reject_share, "failed_table": exc.table,
            "rejects_sample": [dict(r) for r in exc.rejects]})) from exc
    sources_record = source_files.confirm(state, inputs, report)
    tables = {t.table: asdict(t) for t in report.tables}
    ingestion = {
        "max_reject_share": max_reject_share,
        "ingested_at": manifest_io.iso(report.ingested_at),
        "tables": tables,
        "schema_drift": list(report.schema_drift),
    }
    key_changed = pii_key.change_warning({"pii_key": key_record})
    warnings = (*report.warnings, *([key_changed] if key_changed else []))
    for warning in warnings:
        logger.warning("  warning: %s", warning)
    return StepResult({"tables": len(tables), "rows": sum(t.rows_loaded for t in report.tables)},
                      manifest=ManifestUpdate(ingestion=ingestion, pii_key=key_record,
                                              sources=sources_record),
                      warnings=warnings)


def dbt_invocation(state: RunState) -> DbtInvocation:
    return DbtInvocation(db_path=state.paths.building_snapshot, work_dir=state.paths.dbt_dir,
                         as_of=state.config.as_of.isoformat(),
                         unit_tests=state.config.unit_tests)


def start_dbt_worker(state: RunState) -> None:
    """Before the first step: dbt's worker imports dbt and parses the project while the
    run generates and loads (about 3 s that no longer wait for the loader), then imports
    the Python models' libraries if it is still waiting."""
    dbt_session.start_session(dbt_invocation(state), idle_imports=True)


def stop_dbt_worker(state: RunState) -> None:
    """When the run ends: a failed run's dbt worker may still be up; never past the run."""
    dbt_session.close_session(dbt_invocation(state))


def step_dbt_build(state: RunState) -> StepResult:
    """``dbt build``. A failing build still reports its failing nodes, their compiled SQL
    and sample failing rows, and the raw contract's results (the snapshot is discarded)."""
    invocation = dbt_invocation(state)
    artifacts = {**state.manifest.artifacts, "dbt_target": str(invocation.target_path)}
    try:
        summary = dbt_build(invocation)
    except DbtError as exc:
        failure = dbt_failure_record(state, exc.summary or state.manifest.dbt)
        raise StepError(str(exc), manifest=ManifestUpdate(artifacts=artifacts).merged(
            failure)) from exc
    except Exception as exc:
        failure = dbt_failure_record(state, state.manifest.dbt)
        with_manifest(exc, ManifestUpdate(artifacts=artifacts).merged(failure))
        raise
    # the build ended its worker (its last connection writes the snapshot); the one
    # dbt_docs sends its command to starts now, so dbt's imports and cached parse (about
    # 2.5 s) overlap the checks between the two steps instead of delaying the docs. An
    # optimisation only: if it cannot start, dbt_docs starts its own and reports why
    try:
        dbt_session.start_session(invocation)
    except Exception as exc:
        logger.debug("the docs' dbt worker did not start ahead: %s", exc)
    return StepResult(summary.counts(),
                      manifest=ManifestUpdate(artifacts=artifacts, dbt=summary))


def step_source_freshness(state: RunState) -> StepResult:
    result = dbt_source_freshness(dbt_invocation(state))
    statuses: dict[str, int] = {}
    for item in result.get("results", []):
        statuses[str(item["status"])] = statuses.get(str(item["status"]), 0) + 1
    warnings = tuple(f"source freshness {item['status']}: {item['unique_id']}"
                     for item in result.get("results", [])
                     if item["status"] not in ("pass", None))
    return StepResult({"statuses": statuses}, manifest=ManifestUpdate(freshness=result),
                      warnings=warnings)


def step_schema_snapshot(state: RunState) -> StepResult:
    """Every declared ``ops`` table is created (empty) first, then the schema is captured.

    The capture then describes the published snapshot's whole ``ops`` schema although
    most of those tables receive their rows in later steps (which never change columns).
    """
    with duckdb.connect(str(state.paths.building_snapshot)) as con:
        created = ops_tables.create_all(con)
    with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
        columns = schema_snapshot.capture(con)
        row_counts = count_rows(con)
    document = {"run_id": state.config.run_id, "columns": columns}
    try:
        state.paths.schema_snapshot.write_text(json.dumps(document, indent=1) + "\n",
                                               encoding="utf-8")
    except Exception as exc:  # e.g. a full disk: the counts taken are still reported
        with_manifest(exc, ManifestUpdate(row_counts=row_counts))
        raise
    artifacts = {**state.manifest.artifacts,
                 "schema_snapshot": str(state.paths.schema_snapshot)}
    return StepResult({"tables": len({(c["schema"], c["table"]) for c in columns}),
                       "columns": len(columns), "ops_tables": len(created)},
                      manifest=ManifestUpdate(row_counts=row_counts, artifacts=artifacts))
