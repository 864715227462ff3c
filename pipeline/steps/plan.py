"""Which steps a run executes, in what order: the one function that knows.

:func:`run_plan` is the only code that knows the order of a run's steps: the same list on
every engine, with the Spark engine's own ``load_raw`` and ``dbt_build`` in their places
(:mod:`pipeline.steps.spark`), so a fault stops both engines at the same step. Where the
sources come from and whether the run is archived are chosen here too, explicitly:
``generate`` (then ``land`` when they go to object storage) or ``source`` for a replay,
and ``archive`` after ``publish``. Every plan's names follow the manifest's vocabulary
(:data:`~pipeline.records.run_manifest.STEP_NAMES`) in its order.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.lifecycle.step_types import RunPlan, RunState, Step
from pipeline.records.run_manifest import STEP_NAMES
from pipeline.steps import (
    archive,
    build,
    docs,
    health,
    lineage,
    observe,
    publish,
    report,
    sources,
)

ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class SourcePlan:
    """How a run gets its sources and where it goes once published (from the options)."""

    #: ``--source``: replay files already there instead of generating
    replay: bool = False
    #: ``--landing s3://…``: generated files are uploaded before the load reads them
    land: bool = False
    #: ``--archive``: the published run is uploaded, then the archive's LATEST moves
    archive: bool = False


def _steps(options: SourcePlan) -> tuple[tuple[str, Step], ...]:
    if options.replay:
        first: tuple[tuple[str, Step], ...] = (("source", sources.step_source),)
    else:
        first = (("generate", build.step_generate),
                 *((("land", sources.step_land),) if options.land else ()))
    steps = (
        *first,
        ("load_raw", build.step_load_raw),
        ("source_freshness", build.step_source_freshness),
        ("dbt_build", build.step_dbt_build),
        ("schema_snapshot", build.step_schema_snapshot),
        ("dbt_artifacts", observe.step_dbt_artifacts),
        ("contracts", observe.step_contracts),
        ("schema_drift", observe.step_schema_drift),
        ("volume_anomalies", observe.step_volume_anomalies),
        ("metric_anomalies", observe.step_metric_anomalies),
        ("health", health.step_health),
        ("report", report.step_report),
        ("quality_gate", observe.step_quality_gate),
        ("record_ops", observe.step_record_ops),
        ("dbt_docs", docs.step_dbt_docs),
        ("publish", publish.step_publish),
        *((("archive", archive.step_archive),) if options.archive else ()),
    )
    names = [name for name, _step in steps]
    if names != [name for name in STEP_NAMES if name in names]:
        raise AssertionError("the plan's steps are not the manifest's STEP_NAMES in order")
    return steps


def _finish(state: RunState) -> None:
    """When the run ends, whatever the outcome: dbt's worker stops and the temporary
    folder (sources on their way to object storage, a fetched app.sqlite) goes."""
    try:
        build.stop_dbt_worker(state)
    finally:
        sources.remove_temp_dir(state)


def run_plan(engine: str = "duckdb", options: SourcePlan | None = None) -> RunPlan:
    """The steps a run on ``engine`` executes, and what starts and ends alongside them.

    On DuckDB, dbt's worker starts before the first step (it imports dbt and parses while
    the run generates and loads); on Spark dbt runs in its own session, one process per
    command. Either way a worker still up when the run ends is stopped.
    """
    steps = _steps(options or SourcePlan())
    if engine == "duckdb":
        return RunPlan(steps, warm_up=build.start_dbt_worker, finish=_finish,
                       conclude=lineage.conclude)
    if engine == "spark":
        from pipeline.steps import spark

        replaced: dict[str, Step] = {"load_raw": spark.step_load_raw,
                                     "dbt_build": spark.step_dbt_build}
        return RunPlan(tuple((name, replaced.get(name, step)) for name, step in steps),
                       finish=_finish, conclude=lineage.conclude)
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
