"""The ops tables are declared once and exist before the schema snapshot is taken, so the
snapshot (JSON and ``ops.schema_columns``) describes the whole published database."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

import duckdb
from foundation import ops_tables
from pipeline import runs
from pipeline.checks import contracts, drift, schema_snapshot
from pipeline.checks import volume as anomalies
from pipeline.transform import artifacts as dbt_artifacts
from tests.conftest import TinyRun

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

LOADER_OPS_TABLES = {"ingestion_log", "source_schema_drift"}


def _ops_tables(columns: list[dict]) -> set[str]:
    return {c["table"] for c in columns if c["schema"] == "ops"}


def _comparable(columns: list[dict]) -> list[tuple]:
    return [(c["schema"], c["table"], c["column"], c["type"], c["nullable"], c["ordinal"])
            for c in columns]


def test_create_all_makes_every_declared_table_empty(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        assert ops_tables.create_all(con) == tuple(ops_tables.OPS_TABLES)
        columns = schema_snapshot.capture(con)
        counts = {name: con.execute(f'select count(*) from ops."{name}"').fetchone()[0]
                  for name in ops_tables.OPS_TABLES}
    assert _ops_tables(columns) == set(ops_tables.OPS_TABLES)
    assert set(counts.values()) == {0}


def test_writers_replace_rows_and_never_change_columns(tmp_path: Path) -> None:
    """Each step writes into the declared table, so the earlier capture stays true."""
    report = drift.DriftReport("prev", True, (drift.DriftChange(
        "snapshot", "raw", "users", "x", "column_added", None, "VARCHAR", "raw.users.x added"),))
    volume = anomalies.check_counts({"raw": {"users": 9}},
                                    [{"run_id": "b", "row_counts": {"raw": {"users": 100}}}])
    results = contracts.ContractReport(
        results=(contracts.ContractResult("c", "raw", "users", "user_id", "unique", "field_unique",
                                          "Engineering", "warn", "WARN", "2", "0", "dup", "cli"),),
        as_of_cutoff=datetime(2026, 11, 1), evaluated_at=datetime(2026, 11, 1, 6))
    artifacts = dbt_artifacts.DbtArtifacts(target_path=tmp_path)
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        ops_tables.create_all(con)
        before = schema_snapshot.capture(con)
        written = {**drift.ops_rows("r", before, report), **anomalies.ops_rows("r", volume),
                   **contracts.ops_rows("r", results),
                   **dbt_artifacts.ops_rows("r", artifacts, [])}
        for _ in range(2):  # a second write replaces, it does not append
            for table, rows in written.items():
                ops_tables.replace_rows(con, table, rows)
        after = schema_snapshot.capture(con)
        counts = [con.execute(f"select count(*) from ops.{name}").fetchone()[0]
                  for name in ("schema_columns", "schema_drift", "volume_anomalies",
                               "contract_results")]
    assert _comparable(after) == _comparable(before)
    assert counts == [len(before), 1, 1, 1]


@pytest.mark.parametrize(("node", "relation"), [
    ({"schema": "marts", "alias": "fct_x", "name": "fct_x_v2"}, ("marts", "fct_x")),
    ({"schema": "raw", "identifier": "users_export", "name": "users"}, ("raw", "users_export")),
    ({"schema": "staging", "alias": None, "name": "stg_users"}, ("staging", "stg_users")),
    ({"alias": "fct_x", "name": "fct_x"}, None),
    ({"schema": "", "name": "fct_x"}, None),
    ({"schema": "marts"}, None),
])
def test_a_dbt_nodes_relation_is_its_schema_and_alias_identifier_or_name(
        node: dict, relation: tuple[str, str] | None) -> None:
    """The contract reuse, the health model's lineage and OpenLineage name a node's table
    through this one rule; a node missing its schema or every name has no relation."""
    assert dbt_artifacts.node_relation(node) == relation


def test_an_undeclared_ops_table_is_refused(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con, pytest.raises(KeyError) as err:
        ops_tables.replace_rows(con, "nope", [])
    assert err.value.args[0] == "ops.nope is not declared in foundation/ops_tables.py"


def test_drift_in_an_ops_table_is_reported(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        ops_tables.create_all(con)
        before = schema_snapshot.capture(con)
        con.execute("alter table ops.volume_anomalies add column note varchar")
        con.execute("alter table ops.dbt_results alter failures type integer")
        after = schema_snapshot.capture(con)
    assert [(c.schema, c.table, c.column, c.change, c.before, c.after)
            for c in drift.diff(before, after)] == [
        ("ops", "dbt_results", "failures", "type_changed", "BIGINT", "INTEGER"),
        ("ops", "volume_anomalies", "note", "column_added", None, "VARCHAR"),
    ]


def test_schema_snapshot_describes_the_published_snapshot(tiny_run: TinyRun) -> None:
    document = json.loads((tiny_run.home / "logs" / "schema_tiny.json").read_text())
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        published = schema_snapshot.capture(con)
        stored = con.execute(
            "select schema_name, table_name, column_name, data_type, is_nullable, "
            "ordinal_position from ops.schema_columns "
            "order by schema_name, table_name, ordinal_position").fetchall()
    assert _comparable(document["columns"]) == _comparable(published)
    assert stored == _comparable(published)
    assert _ops_tables(published) == set(ops_tables.OPS_TABLES) | LOADER_OPS_TABLES
    assert {c["schema"] for c in published} == {"raw", "staging", "intermediate",
                                                "monitoring", "marts", "ops"}


# ------------------------------------------------------------------ runs.py schema FILE


def test_runs_cli_compares_any_duckdb_file_with_the_served_run(
    tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_run.snapshot, copy)
    home = str(tiny_run.home)
    assert runs.main(["--home", home, "schema", str(copy)]) == 0
    assert capsys.readouterr().out == f"schema of {copy} vs run tiny: 0 change(s)\nno change\n"

    with duckdb.connect(str(copy)) as con:
        con.execute("alter table raw.users add column loyalty_tier varchar")
        con.execute("alter table ops.ingestion_log drop column message")
    assert runs.main(["--home", home, "schema", str(copy), "--against", "tiny"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"schema of {copy} vs run tiny: 2 change(s)"
    assert [line.split() for line in lines[3:]] == [
        ["ops", "ingestion_log", "message", "column_removed", "VARCHAR", "-"],
        ["raw", "users", "loyalty_tier", "column_added", "-", "VARCHAR"],
    ]


def test_runs_cli_schema_errors_exit_2(tiny_run: TinyRun, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tiny_run.home)
    missing = tmp_path / "missing.duckdb"
    assert runs.main(["--home", home, "schema", str(missing)]) == 2
    assert capsys.readouterr().err == f"runs.py: error: no such file: {missing}\n"
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_text("not a database\n" * 100)
    assert runs.main(["--home", home, "schema", str(garbage)]) == 2
    assert capsys.readouterr().err.startswith(
        f"runs.py: error: cannot read {garbage} as a DuckDB database: ")
    assert runs.main(["--home", home, "schema", str(garbage), "--against", "nope"]) == 2
    assert capsys.readouterr().err.startswith("runs.py: error: unknown run 'nope' in ")
    assert runs.main(["--home", str(tmp_path), "schema", str(garbage)]) == 2
    assert capsys.readouterr().err == (f"runs.py: error: no successful run in {tmp_path}/logs "
                                       "to compare with; name one with --against\n")


def test_a_row_is_written_by_column_name_and_must_name_every_column(tmp_path: Path) -> None:
    """Writers name columns: the declaration's order never matters, a gap is refused."""
    row = {"run_id": "r", "step_number": 1, "step_name": "generate", "status": "ok",
           "started_at": None, "duration_s": 1.5, "details_json": "{}"}
    reversed_row = dict(reversed(list(row.items())))
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        assert ops_tables.replace_rows(con, "pipeline_steps", [reversed_row]) == 1
        stored = con.execute("select step_name, duration_s from ops.pipeline_steps").fetchall()
        incomplete = {key: value for key, value in row.items() if key != "status"}
        with pytest.raises(KeyError) as err:
            ops_tables.replace_rows(con, "pipeline_steps", [{**incomplete, "extra": 1}])
    assert stored == [("generate", 1.5)]
    assert err.value.args[0] == ("a row for ops.pipeline_steps does not match its columns: "
                                 "missing ['status'], undeclared ['extra']")
