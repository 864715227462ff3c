"""The one multi-asset whose materialisation is one pipeline run.

Dagster never builds a model itself: a partition's materialisation launches the run
(:mod:`orchestration.launch`), which generates, loads, builds, checks and publishes as it
always does, then reports what the run recorded (:mod:`orchestration.results`): every
asset materialised with the pipeline's run id in its metadata, every check with its
measured value and threshold. A run that fails or is interrupted materialises nothing,
reports the checks it evaluated, and fails the Dagster step with its failing step and
error. The pipeline's run id is also a tag of the Dagster run.
"""

# no ``from __future__ import annotations`` here: Dagster reads the asset function's
# annotations (its config class) as objects
from collections.abc import Iterator

import dagster as dg

from foundation.paths import RunPaths
from orchestration.asset_graph import AssetGraph
from orchestration.launch import PipelineRunConfig, alert_settings, run_config
from orchestration.results import RUN_ID_KEY, FinishedRun, check_results, materializations
from pipeline import run_pipeline
from pipeline.records.run_manifest import RunManifest

ASSET_NAME = "carton_caps_run"
#: the run's only slot: two partitions never build at once on one machine
POOL = "carton_caps_pipeline"


def _failure(manifest: RunManifest, exit_code: int, common: dict[str, object]) -> dg.Failure:
    step = f" at {manifest.failed_step}" if manifest.failed_step else ""
    return dg.Failure(
        description=f"pipeline run {manifest.run_id} {manifest.status}{step} "
                    f"(exit {exit_code}): {manifest.error}",
        metadata={**common, "exit_code": exit_code, "status": manifest.status,
                  "failed_step": manifest.failed_step, "error": manifest.error})


def build_run_asset(graph: AssetGraph, partitions: dg.PartitionsDefinition
                    ) -> dg.AssetsDefinition:
    """The multi-asset of every declared asset and check, one partition per run."""

    @dg.multi_asset(name=ASSET_NAME, specs=graph.specs, check_specs=graph.check_specs,
                    partitions_def=partitions, can_subset=False, pool=POOL,
                    backfill_policy=dg.BackfillPolicy.multi_run(1))
    def carton_caps_run(context: dg.AssetExecutionContext,
                        config: PipelineRunConfig) -> Iterator[object]:
        """One pipeline run for the partition's as-of date (pipeline.run_pipeline.launch)."""
        partition = context.partition_key
        pipeline_config = run_config(config, partition=partition, dagster_run_id=context.run.run_id)
        alerts = alert_settings()
        context.instance.add_run_tags(context.run.run_id, {RUN_ID_KEY: pipeline_config.run_id})
        context.log.info(f"pipeline run {pipeline_config.run_id} for as-of {partition} in "
                         f"{pipeline_config.home}")
        launched = run_pipeline.launch(pipeline_config, alerts=alerts)
        if launched.manifest is None:
            raise dg.Failure(f"the pipeline run was refused: {launched.refused}",
                             metadata={"exit_code": launched.exit_code})
        run = FinishedRun(paths=RunPaths(home=pipeline_config.home, run_id=pipeline_config.run_id),
                          manifest=launched.manifest)
        if launched.exit_code == run_pipeline.EXIT_OK:
            # materialisations first: each check result then refers to this run's data
            yield from materializations(graph, run)
        yield from check_results(graph, run)
        if launched.exit_code != run_pipeline.EXIT_OK:
            raise _failure(launched.manifest, launched.exit_code, run.common())

    return carton_caps_run
