"""The one registry of the bookkeeping tables a snapshot holds besides its data.

Two groups, each created by the code that writes it:

* :data:`LOADER_TABLES` (``ops.ingestion_log``, ``ops.source_schema_drift``,
  ``raw._rejects``): created and filled by the loader inside its load transaction, so
  they exist, with their NOT NULL constraints, before anything else runs
  (:func:`loader_ddl`);
* :data:`OPS_TABLES`: every ``ops`` table the observability steps write, created up
  front (below).

The schema snapshot (``logs/schema_<run_id>.json``, ``ops.schema_columns``) is taken
before most ``ops`` tables receive rows. So that it still describes the whole published
snapshot (and drift in an ``ops`` table is seen like drift anywhere else),
:func:`create_all` creates every table below, empty, before the capture; each step then
only replaces its table's rows (:func:`replace_rows`) and never changes its columns.

Row-by-row ``executemany`` costs about a millisecond a row in DuckDB; the ops tables
hold thousands (every column of every table), so rows go in as one data frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

OPS_SCHEMA = "ops"
RAW_SCHEMA = "raw"
REJECTS_TABLE = "_rejects"

# (schema, table) -> column list, in the order the loader inserts values
LOADER_TABLES: dict[tuple[str, str], str] = {
    (OPS_SCHEMA, "ingestion_log"): """
        run_id varchar not null,
        table_name varchar not null,
        source_system varchar not null,
        source_file varchar not null,
        sha256 varchar not null,
        bytes bigint not null,
        rows_loaded bigint not null,
        rows_rejected bigint not null,
        started_at timestamp not null,
        duration_s double not null,
        status varchar not null,
        message varchar
    """,
    (OPS_SCHEMA, "source_schema_drift"): """
        run_id varchar not null,
        table_name varchar not null,
        source_file varchar not null,
        column_name varchar not null,
        change varchar not null,
        detail varchar not null
    """,
    (RAW_SCHEMA, REJECTS_TABLE): """
        run_id varchar not null,
        table_name varchar not null,
        source_file varchar not null,
        line bigint,
        column_name varchar,
        error_type varchar not null,
        reason varchar not null,
        raw_text varchar
    """,
}


def loader_ddl() -> tuple[str, ...]:
    """``create table if not exists`` for each of :data:`LOADER_TABLES`, in order."""
    return tuple(f"create table if not exists {schema}.{table} ({columns})"
                 for (schema, table), columns in LOADER_TABLES.items())


# table name -> its columns (``name type``, comma-separated); writers name every column
OPS_TABLES: dict[str, str] = {
    "dbt_nodes": """
        run_id varchar, unique_id varchar, resource_type varchar, name varchar,
        package_name varchar, original_file_path varchar, schema_name varchar,
        alias varchar, materialized varchar, severity varchar, attached_node varchar,
        column_name varchar, test_name varchar, depends_on varchar, tags varchar,
        description varchar
    """,
    "dbt_results": """
        run_id varchar, unique_id varchar, resource_type varchar, name varchar,
        status varchar, execution_time_s double, failures bigint, message varchar,
        compiled_sql varchar, relation_name varchar, started_at timestamp,
        completed_at timestamp, invocation varchar
    """,
    "dbt_test_failure_samples": """
        run_id varchar, unique_id varchar, test_name varchar, status varchar,
        row_number integer, row_json varchar, sample_error varchar
    """,
    "contract_results": """
        run_id varchar, contract_id varchar, layer varchar, table_name varchar,
        column_name varchar, check_name varchar, check_type varchar, owner varchar,
        severity varchar, status varchar, measured varchar, threshold varchar,
        message varchar, engine varchar, evaluated_at timestamp
    """,
    "schema_columns": """
        run_id varchar, schema_name varchar, table_name varchar, table_type varchar,
        column_name varchar, data_type varchar, normalized_type varchar, is_nullable boolean,
        ordinal_position integer
    """,
    "schema_drift": """
        run_id varchar, previous_run_id varchar, layer varchar, schema_name varchar,
        table_name varchar, column_name varchar, change varchar, before_value varchar,
        after_value varchar, detail varchar
    """,
    "volume_anomalies": """
        run_id varchar, layer varchar, table_name varchar, row_count bigint,
        baseline_min bigint, baseline_max bigint, baseline_median double, lower_bound double,
        upper_bound double, change_pct double, baseline_runs varchar, status varchar,
        message varchar
    """,
    "run_findings": """
        run_id varchar, finding_id varchar, severity varchar, category varchar,
        subject varchar, subject_label varchar, title varchar, reason varchar,
        measured varchar, threshold varchar, owner varchar, page varchar,
        evidence_json varchar, consequences_json varchar
    """,
    "finding_impacts": """
        run_id varchar, finding_id varchar, relation varchar
    """,
    "pipeline_runs": """
        run_id varchar primary key, status varchar, started_at timestamp, seed bigint,
        users bigint, as_of date, days integer, faults varchar, health_status varchar,
        findings integer, git_commit varchar,
        previous_run_id varchar, previous_successful_run_id varchar, dbt_pass integer,
        dbt_warn integer, dbt_error integer, contract_pass integer, contract_warn integer,
        contract_fail integer, schema_changes integer, volume_warnings integer,
        warnings integer, raw_rows bigint, mart_rows bigint, manifest_json varchar
    """,
    "pipeline_steps": """
        run_id varchar, step_number integer, step_name varchar, status varchar,
        started_at varchar, duration_s double, details_json varchar
    """,
}


def _qualified(table: str) -> str:
    if table not in OPS_TABLES:
        raise KeyError(f"ops.{table} is not declared in foundation/ops_tables.py")
    return f'{OPS_SCHEMA}."{table}"'


def _names(declaration: str) -> tuple[str, ...]:
    return tuple(entry.split()[0] for entry in declaration.split(",") if entry.strip())


def column_names(table: str) -> tuple[str, ...]:
    """The declared columns of ``ops.<table>``, in order (read from its declaration)."""
    _qualified(table)
    return _names(OPS_TABLES[table])


def ensure(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Create the named ops tables (all of them when none is named) if they are missing."""
    con.execute(f"create schema if not exists {OPS_SCHEMA}")
    for table in tables or tuple(OPS_TABLES):
        con.execute(f"create table if not exists {_qualified(table)} ({OPS_TABLES[table]})")


def create_all(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Every declared ops table, empty if new; returns their names."""
    ensure(con)
    return tuple(OPS_TABLES)


def _insert_named(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                  columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> int:
    """Append ``rows``, each naming every one of ``columns`` and no other, as one frame.

    Rows are written by column name, so a writer never depends on the order of the
    declaration, and a row that misses or adds a column is refused (KeyError naming them).
    """
    if not rows:
        return 0
    for row in rows:
        if set(row) != set(columns):
            missing = sorted(set(columns) - set(row))
            extra = sorted(set(row) - set(columns))
            raise KeyError(f"a row for {schema}.{table} does not match its columns: missing "
                           f"{missing}, undeclared {extra}")
    # imported here: the run's command line imports this module before dbt's worker starts,
    # and pandas alone takes about 0.4 s (pipeline/run_pipeline.py)
    import pandas as pd

    frame = pd.DataFrame([[row[c] for c in columns] for row in rows], columns=list(columns),
                         dtype=object)
    con.register("ops_rows_frame", frame)
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'insert into {schema}."{table}" ({names}) '  # noqa: S608
                    f"select {names} from ops_rows_frame")
    finally:
        con.unregister("ops_rows_frame")
    return len(rows)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str,
                rows: Sequence[Mapping[str, Any]]) -> int:
    """Append ``rows`` (by column name) to ``ops.<table>``."""
    return _insert_named(con, OPS_SCHEMA, table, column_names(table), rows)


def insert_loader_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                       rows: Sequence[Mapping[str, Any]]) -> int:
    """Append ``rows`` (by column name) to one of :data:`LOADER_TABLES`."""
    return _insert_named(con, schema, table, _names(LOADER_TABLES[(schema, table)]), rows)


def replace_rows(con: duckdb.DuckDBPyConnection, table: str,
                 rows: Sequence[Mapping[str, Any]]) -> int:
    """Make ``ops.<table>`` hold exactly ``rows``, keeping its declared columns."""
    ensure(con, table)
    con.execute(f"delete from {_qualified(table)}")  # noqa: S608
    return insert_rows(con, table, rows)
