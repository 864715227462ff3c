"""What a failed ``dbt build`` still reports, on either engine.

The snapshot of a failed build is discarded, so the manifest is where its failing nodes
(with their compiled SQL and sample failing rows) and the raw contract's results (the raw
layer is complete even then) are kept.
"""

from __future__ import annotations

import logging

import duckdb
from pipeline.checks import contracts
from pipeline.lifecycle.step_types import RunState
from pipeline.records.run_manifest import DbtSummary, ManifestUpdate, Section
from pipeline.transform import artifacts as dbt_artifacts

logger = logging.getLogger(__name__)

RAW_CONTRACT = "raw.odcs.yaml"


def dbt_failure_record(state: RunState, dbt: DbtSummary) -> ManifestUpdate:
    """The sections a failed ``dbt build`` leaves: ``dbt`` (the build's summary, with its
    failing nodes, their compiled SQL and sample failing rows) and ``contracts`` (the raw
    contract's results)."""
    try:
        artifacts = dbt_artifacts.load(state.paths.dbt_target, within=state.paths.home)
        samples: list[dbt_artifacts.TestSample] = []
        if state.paths.building_snapshot.exists():
            with duckdb.connect(str(state.paths.building_snapshot), read_only=True) as con:
                samples = dbt_artifacts.sample_failing_tests(
                    artifacts, con, limit=dbt_artifacts.MANIFEST_SAMPLE_ROWS)
        if artifacts.results():
            dbt = dbt.with_failures(dbt_artifacts.manifest_failures(artifacts, samples))
    except Exception:  # never hide the build's own error behind ours
        logger.debug("could not read dbt artefacts after a failed build", exc_info=True)
    return ManifestUpdate(dbt=dbt, contracts=_raw_contracts_after_failure(state))


def _raw_contracts_after_failure(state: RunState) -> Section | None:
    """The raw layer is complete even when dbt failed: what its contract says."""
    if not state.paths.building_snapshot.exists():
        return None
    try:
        report = contracts.evaluate(state.paths.building_snapshot, as_of=state.config.as_of,
                                    days=state.config.days, only=(RAW_CONTRACT,),
                                    cache_dir=state.paths.contract_cache_dir)
    except Exception:
        logger.debug("raw contract not evaluated after the dbt failure", exc_info=True)
        return None
    return {**report.to_manifest(), "scope": "raw contract only (dbt build failed)"}
