"""Which steps a run executes, in what order: the one function that knows.

:func:`run_plan` is the only code that knows the order of a run's steps: the same list on
every engine, with the Spark engine's own ``load_raw`` and ``dbt_build`` in their places
(:mod:`pipeline.steps.spark`), so a fault stops both engines at the same step.
"""

from __future__ import annotations

from pipeline.lifecycle.step_types import RunPlan, Step
from pipeline.records.run_manifest import STEP_NAMES
from pipeline.steps import build, docs, health, lineage, observe, publish, report

ENGINES = ("duckdb", "spark")


def _duckdb_steps() -> tuple[tuple[str, Step], ...]:
    steps = (
        ("generate", build.step_generate),
        ("load_raw", build.step_load_raw),
        ("source_freshness", build.step_source_freshness),
        ("dbt_build", build.step_dbt_build),
        ("schema_snapshot", build.step_schema_snapshot),
        ("dbt_artifacts", observe.step_dbt_artifacts),
        ("contracts", observe.step_contracts),
        ("schema_drift", observe.step_schema_drift),
        ("volume_anomalies", observe.step_volume_anomalies),
        ("health", health.step_health),
        ("report", report.step_report),
        ("quality_gate", observe.step_quality_gate),
        ("record_ops", observe.step_record_ops),
        ("dbt_docs", docs.step_dbt_docs),
        ("publish", publish.step_publish),
    )
    if tuple(name for name, _step in steps) != STEP_NAMES:
        raise AssertionError("the plan's steps differ from the manifest's STEP_NAMES")
    return steps


def run_plan(engine: str = "duckdb") -> RunPlan:
    """The steps a run on ``engine`` executes, and what starts and ends alongside them.

    On DuckDB, dbt's worker starts before the first step (it imports dbt and parses while
    the run generates and loads); on Spark dbt runs in its own session, one process per
    command. Either way a worker still up when the run ends is stopped.
    """
    if engine == "duckdb":
        return RunPlan(_duckdb_steps(), warm_up=build.start_dbt_worker,
                       finish=build.stop_dbt_worker, conclude=lineage.conclude)
    if engine == "spark":
        from pipeline.steps import spark

        replaced: dict[str, Step] = {"load_raw": spark.step_load_raw,
                                     "dbt_build": spark.step_dbt_build}
        return RunPlan(tuple((name, replaced.get(name, step)) for name, step in _duckdb_steps()),
                       finish=build.stop_dbt_worker, conclude=lineage.conclude)
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
