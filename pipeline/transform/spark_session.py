"""``python -m pipeline.transform.spark_session <dbt args>``: dbt on a local Spark session, one JVM.

dbt-spark's ``method: session`` runs PySpark inside the dbt process and takes the active
``SparkSession``; this module creates that session first, so that the pipeline decides
how Spark runs and what it sees:

* the raw Parquet files landed by the loader (``CARTON_CAPS_SPARK_RAW_DIR``) are
  registered as tables of database ``raw``, the names dbt's sources read;
* PII is already hashed in those files (the loader masks it as it lands,
  foundation/pii.py): Spark needs no key and no hash function, and computes the same
  ``email_hash`` as DuckDB by construction;
* Python models run in this session (dbt-spark only submits them to Databricks
  clusters): a ``session`` submission method executes dbt's compiled model code here;
* after a successful build every table and view of ``staging``, ``intermediate``,
  ``monitoring`` and ``marts`` is written as Parquet to ``CARTON_CAPS_SPARK_EXPORT_DIR``,
  from which the pipeline fills the run's DuckDB snapshot (pipeline/steps/spark.py).

The exit code is dbt's (0 ok, 1 failing nodes, 2 dbt could not run).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import types
from pathlib import Path
from typing import Any

#: Where the landed raw Parquet files are (one folder or file per table).
RAW_DIR_ENV = "CARTON_CAPS_SPARK_RAW_DIR"
#: Where this process writes the built layers as Parquet (``<schema>/<table>``).
EXPORT_DIR_ENV = "CARTON_CAPS_SPARK_EXPORT_DIR"
#: Spark's own scratch: warehouse of managed tables and local shuffle files.
WORK_DIR_ENV = "CARTON_CAPS_SPARK_WORK_DIR"
EXPORTED_SCHEMAS = ("staging", "intermediate", "monitoring", "marts")
#: Written beside the export: the Spark and Java versions the build really ran on.
ENGINE_FILE = "engine.json"

#: Session settings that make Spark compute what DuckDB computes (README "Running on a
#: cluster" explains each): UTC, timestamps without time zone (DuckDB's TIMESTAMP), few
#: shuffle partitions for one machine, no Hive metastore and nothing fetched at start.
SESSION_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.legacy.createHiveTableByDefault": "false",
    "spark.sql.sources.default": "parquet",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "3g",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def start_session(work_dir: Path) -> Any:
    """The local Spark session every dbt node of this process runs in."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[*]").appName("carton_caps_dbt")
    for name, value in {**SESSION_CONF,
                        "spark.sql.warehouse.dir": str(work_dir / "warehouse"),
                        "spark.local.dir": str(work_dir / "tmp")}.items():
        builder = builder.config(name, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def register_raw_tables(session: Any, raw_dir: Path) -> list[str]:
    """Each folder ``<raw_dir>/<table>/`` as table ``raw.<table>`` (read in place)."""
    session.sql("create database if not exists raw")
    tables = []
    for path in sorted(p for p in raw_dir.iterdir() if p.is_dir()):
        table = path.name
        location = str(path).replace("'", "''")
        session.sql(f"create table raw.`{table}` using parquet location '{location}'")
        tables.append(table)
    return tables


class SessionPythonJobHelper:
    """dbt Python models executed in this process's Spark session.

    dbt-spark submits Python models to Databricks clusters only; locally the compiled
    model code (the model plus dbt's writer, which saves ``df`` with ``saveAsTable``)
    simply runs here, against the same session as the SQL models.
    """

    def __init__(self, parsed_model: dict[str, Any], credentials: Any) -> None:
        self.parsed_model = parsed_model

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        # a module of its own, registered while it runs: dataclasses in the model look
        # their module up in sys.modules
        module = types.ModuleType(f"dbt_python_model_{self.parsed_model.get('name')}")
        # the active session is per thread and dbt runs nodes in worker threads
        module.spark = SparkSession.builder.getOrCreate()  # type: ignore[attr-defined]
        sys.modules[module.__name__] = module
        try:
            exec(compile(compiled_code, str(self.parsed_model.get("original_file_path")),
                         "exec"), module.__dict__)
        finally:
            del sys.modules[module.__name__]


def enable_session_python_models() -> None:
    """Add ``submission_method: session`` to dbt-spark's Python submission helpers."""
    from dbt.adapters.spark.impl import SparkAdapter

    helpers = SparkAdapter.python_submission_helpers.fget(None)  # type: ignore[attr-defined]
    SparkAdapter.python_submission_helpers = property(  # type: ignore[method-assign,assignment]
        lambda self: {**helpers, "session": SessionPythonJobHelper})


def export_layers(session: Any, export_dir: Path) -> dict[str, list[str]]:
    """Write every relation of the built layers as Parquet, ``<schema>/<table>``."""
    exported: dict[str, list[str]] = {}
    for schema in EXPORTED_SCHEMAS:
        names = sorted(row.tableName for row in session.sql(f"show tables in {schema}")
                       .collect() if not row.isTemporary)
        for name in names:
            session.table(f"{schema}.`{name}`").write.mode("overwrite").parquet(
                str(export_dir / schema / name))
        exported[schema] = names
    return exported


def main(argv: list[str]) -> int:
    raw_dir = Path(os.environ[RAW_DIR_ENV])
    export_dir = Path(os.environ[EXPORT_DIR_ENV])
    work_dir = Path(os.environ[WORK_DIR_ENV])
    # The pipeline stops dbt with SIGTERM: handled like Ctrl-C, so dbt winds down and the
    # session (and its JVM) is stopped below rather than left to notice its parent is gone
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Python UDFs run in worker processes: the same interpreter and packages as this one
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = start_session(work_dir)
    try:
        tables = register_raw_tables(session, raw_dir)
        print(f"spark {session.version}: registered {len(tables)} raw tables from {raw_dir}",
              flush=True)
        enable_session_python_models()
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(argv)
        if result.exception is not None:
            print(f"dbt could not run: {result.exception}", file=sys.stderr)
            return 2
        if not result.success:
            return 1
        if argv and argv[0] == "build":
            exported = export_layers(session, export_dir)
            java = session.sparkContext._jvm.System.getProperty("java.version")
            (export_dir / ENGINE_FILE).write_text(
                json.dumps({"spark": session.version, "java": java}), encoding="utf-8")
            print("exported " + ", ".join(f"{len(v)} {k}" for k, v in exported.items()),
                  flush=True)
        return 0
    finally:
        session.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
