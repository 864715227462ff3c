"""``--engine spark``: the same run with the dbt project built on Apache Spark.

Only two steps differ from a DuckDB run, under the same names so a fault stops both
engines at the same step:

* ``load_raw`` runs the one raw loader (declared types, ``_ingested_at``/``_run_id``/
  ``_source_file`` stamps, rejects, ``ops.ingestion_log``) and then lands every raw table
  as Parquet in ``data/<run_id>/parquet/raw/<table>/``, the files Spark reads;
* ``dbt_build`` runs ``dbt build --target spark`` inside a local Spark session
  (pipeline/transform/spark_session.py), then writes the built staging, intermediate and mart tables
  into the run's DuckDB snapshot, each column cast to the type its data contract declares
  (the contract enforcement dbt-spark cannot do on Parquet tables happens here), so every
  later step, the dashboards and ``runs.py`` read the snapshot as they always do.

Source freshness is measured by dbt on the snapshot's raw tables, identical on both
engines, which spares a second Spark start.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from importlib import metadata
from pathlib import Path

import duckdb
from foundation.paths import REPO_ROOT
from pipeline.checks.contracts import CONTRACTS_DIR, load_contract
from pipeline.lifecycle.errors import StepError, with_manifest
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records.run_manifest import ManifestUpdate, RunWarning
from pipeline.steps import build as build_steps
from pipeline.steps.dbt_failure import dbt_failure_record
from pipeline.transform.commands import build as dbt_build
from pipeline.transform.invocation import DbtError
from pipeline.transform.session import close_session
from pipeline.transform.spark_session import (
    ENGINE_FILE,
    EXPORT_DIR_ENV,
    RAW_DIR_ENV,
    WORK_DIR_ENV,
)

SPARK_DBT = REPO_ROOT / "pipeline" / "transform" / "spark_session.py"
#: Layers whose column types the write-back takes from a data contract.
CONTRACTED_LAYERS = {"staging": "staging.odcs.yaml", "marts": "marts.odcs.yaml"}


def raw_parquet_dir(state: RunState) -> Path:
    return state.paths.run_data_dir / "parquet" / "raw"


def spark_work_dir(state: RunState) -> Path:
    """Spark's scratch (warehouse, shuffle files, export); removed when the step ends."""
    return state.paths.run_data_dir / "spark_work"


def land_raw_parquet(db_path: Path, out_dir: Path) -> list[str]:
    """Copy every table of schema ``raw`` to ``<out_dir>/<table>/data.parquet``, types kept.

    One folder per table: Spark reads a table from a folder, and skips files whose names
    start with ``_`` (``raw._rejects``) when they are named directly.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_type = 'BASE TABLE' order by table_name").fetchall()]
        for table in tables:
            (out_dir / table).mkdir(exist_ok=True)
            target = str(out_dir / table / "data.parquet").replace("'", "''")
            con.execute(f"""copy raw."{table}" to '{target}' (format parquet)""")
    return tables


def step_load_raw(state: RunState) -> StepResult:
    loaded = build_steps.step_load_raw(state)
    out_dir = raw_parquet_dir(state)
    try:
        tables = land_raw_parquet(state.paths.building_snapshot, out_dir)
    except Exception as exc:
        # the load itself succeeded: its record and warnings stay in the manifest
        warnings = tuple(RunWarning("load_raw", message) for message in loaded.warnings)
        with_manifest(exc, dataclasses.replace(loaded.manifest, warnings=warnings))
        raise
    artifacts = {**state.manifest.artifacts, "raw_parquet": str(out_dir)}
    return dataclasses.replace(loaded, details={**loaded.details, "parquet_tables": len(tables)},
                               manifest=dataclasses.replace(loaded.manifest,
                                                            artifacts=artifacts))


def declared_columns(contracts_dir: Path = CONTRACTS_DIR) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, table) -> {column: physical type} for every contracted table, in order."""
    declared: dict[tuple[str, str], dict[str, str]] = {}
    for schema, file_name in CONTRACTED_LAYERS.items():
        for table in load_contract(contracts_dir / file_name).get("schema", []):
            declared[(schema, table["physicalName"])] = {
                prop["name"]: prop["physicalType"] for prop in table.get("properties", [])
                if prop.get("physicalType")}
    return declared


def _select_list(schema: str, table: str, built: list[str],
                 declared: dict[str, str]) -> str:
    """The model's columns, in its order (as dbt-duckdb builds them), cast to their types.

    Marts are contracted tables: their columns must be exactly the declared ones (dbt's
    contract enforcement on DuckDB); a mismatch fails the step as a contract violation
    would fail dbt.
    """
    if schema == "marts" and sorted(built) != sorted(declared):
        missing = sorted(set(declared) - set(built))
        extra = sorted(set(built) - set(declared))
        raise StepError(f"contract of marts.{table} not met on Spark: missing columns "
                        f"{missing}, undeclared columns {extra}")
    parts = []
    for column in built:
        quoted = '"' + column.replace('"', '""') + '"'
        parts.append(f"cast({quoted} as {declared[column]}) as {quoted}"
                     if column in declared else quoted)
    return ", ".join(parts)


def write_back(db_path: Path, export_dir: Path) -> dict[str, int]:
    """Create every exported table in the DuckDB snapshot; tables per schema."""
    declared = declared_columns()
    written: dict[str, int] = {}
    with duckdb.connect(str(db_path)) as con:
        for schema_dir in sorted(p for p in export_dir.iterdir() if p.is_dir()):
            schema = schema_dir.name
            con.execute(f'create schema if not exists "{schema}"')
            for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
                table = table_dir.name
                files = str(table_dir / "*.parquet")
                built = [row[0] for row in con.execute(
                    "describe select * from read_parquet(?)", [files]).fetchall()]
                select = _select_list(schema, table, built, declared.get((schema, table), {}))
                con.execute(f'create table "{schema}"."{table}" as '  # noqa: S608
                            f"select {select} from read_parquet(?)", [files])
            written[schema] = sum(1 for p in schema_dir.iterdir() if p.is_dir())
    return written


def engine_versions(export_dir: Path) -> dict[str, str | None]:
    """What the Spark build ran on: Spark and Java as reported by the session."""
    ran_on = json.loads((export_dir / ENGINE_FILE).read_text(encoding="utf-8"))

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {"name": "spark", "spark": ran_on.get("spark"), "java": ran_on.get("java"),
            "pyspark": version("pyspark"), "dbt_spark": version("dbt-spark")}


def step_dbt_build(state: RunState) -> StepResult:
    # source freshness ran in the run's DuckDB dbt worker, which still holds the snapshot
    # open: end it before Spark's results are written into the snapshot
    close_session(build_steps.dbt_invocation(state))
    work_dir = spark_work_dir(state)
    export_dir = work_dir / "export"
    shutil.rmtree(work_dir, ignore_errors=True)
    invocation = dataclasses.replace(
        build_steps.dbt_invocation(state),
        # -P: the script's folder must not be on sys.path (its modules would shadow
        # libraries, and dbt's plugin discovery imports every dbt_*.py it finds)
        launcher=(sys.executable, "-P", str(SPARK_DBT)),
        extra_args=("--target", "spark"),
        extra_env=((RAW_DIR_ENV, str(raw_parquet_dir(state))),
                   (EXPORT_DIR_ENV, str(export_dir)), (WORK_DIR_ENV, str(work_dir))),
    )
    artifacts = {**state.manifest.artifacts, "dbt_target": str(invocation.target_path)}
    dbt = state.manifest.dbt
    try:
        try:
            summary = dbt_build(invocation)
        except DbtError as exc:
            dbt = exc.summary or dbt
            raise StepError(str(exc)) from exc
        dbt = summary
        written = write_back(state.paths.building_snapshot, export_dir)
        engine = engine_versions(export_dir)
    except Exception as exc:
        # a failing build (or write-back) still reports its failing nodes and raw contract
        failure = dbt_failure_record(state, dbt)
        with_manifest(exc, ManifestUpdate(artifacts=artifacts).merged(failure))
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return StepResult({**summary.counts(), "written_back": written},
                      manifest=ManifestUpdate(artifacts=artifacts, dbt=summary, engine=engine))
