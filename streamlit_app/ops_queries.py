"""The dashboards' queries of the ``ops`` tables a run stores in its snapshot: contract
results, dbt results and failure samples, schema columns (one part of the data layer; each
query declared by its SQL with ``@sql_query``, as in ``mart_queries``)."""

from __future__ import annotations

import json

import pandas as pd

from streamlit_app.snapshots import Params, exports, sql_query

#: ops.contract_results as the pages read it: the check's name as ``check`` and its
#: measured value as ``measured_value``, then the table's other columns
CONTRACT_CHECKS_SQL = (
    'select table_name, owner, check_name as "check", check_type, column_name, '
    "measured as measured_value, threshold, severity, status, message, run_id, contract_id, "
    "layer, engine, evaluated_at from ops.contract_results"
)


def _normalise_contract_checks(frame: pd.DataFrame) -> pd.DataFrame:
    frame["status"] = frame["status"].astype("string").str.upper()
    for column in ("measured_value", "threshold"):
        frame[column] = frame[column].astype("string")
    return frame


@sql_query(CONTRACT_CHECKS_SQL, finish=_normalise_contract_checks)
def contract_checks() -> Params:
    """One row per contract check of the run, columns normalised (status PASS/WARN/FAIL)."""
    return ()


def failure_sample_rows(samples: pd.DataFrame, unique_id: str) -> pd.DataFrame:
    """The stored failing rows of one test, one column per field of the row."""
    rows = samples[samples["unique_id"] == unique_id]
    if "row_number" in rows.columns:
        rows = rows.sort_values("row_number")
    if "row_json" not in rows.columns:
        return rows.reset_index(drop=True)
    records = []
    for text in rows["row_json"]:
        try:
            value = json.loads(text) if isinstance(text, str) else {}
        except ValueError:
            value = {"row_json": text}
        records.append(value if isinstance(value, dict) else {"value": value})
    return pd.DataFrame(records)


#: the columns of a dbt result frame, in order (ops.dbt_results' other columns follow)
DBT_COLUMNS: tuple[str, ...] = ("unique_id", "resource_type", "name", "status",
                                "execution_time_s", "failures", "message")
DBT_RESULTS_SQL = (
    "select unique_id, resource_type, name, status, execution_time_s, failures, message, "
    "run_id, compiled_sql, relation_name, started_at, completed_at, invocation "
    "from ops.dbt_results"
)


def finish_dbt_frame(frame: pd.DataFrame) -> pd.DataFrame:
    ids = frame["unique_id"].astype("string")
    frame["resource_type"] = frame["resource_type"].fillna(ids.str.split(".").str[0])
    frame["name"] = frame["name"].fillna(ids.str.split(".").str[2:].str.join("."))
    frame["status"] = frame["status"].astype("string").str.lower()
    frame["execution_time_s"] = pd.to_numeric(frame["execution_time_s"], errors="coerce")
    return frame


@sql_query(DBT_RESULTS_SQL, finish=finish_dbt_frame)
def dbt_results() -> Params:
    """One row per dbt node result of the run (models, tests, unit tests), normalised."""
    return ()


@sql_query("select * from ops.dbt_test_failure_samples")
def dbt_failure_samples() -> Params:
    return ()


def _schema_names(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"schema_name": "table_schema", "is_nullable": "nullable",
                                 "ordinal_position": "ordinal"})


@sql_query("select * from ops.schema_columns", finish=_schema_names)
def schema_columns_table() -> Params:
    """The snapshot's own column list, named like ``schema_of_run``'s frame."""
    return ()


__all__ = exports(globals())
