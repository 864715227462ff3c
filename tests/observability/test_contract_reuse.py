"""Contract checks answered by dbt's tests of the same run (pipeline/checks/contract_reuse.py):
which tests are taken, what is left for datacontract-cli, and that the rows a user reads
are the same checks with the same statuses and measured values as a full scan gives."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import duckdb
from pipeline.checks import contract_reuse, contracts
from pipeline.transform import artifacts as dbt_artifacts
from tests.bench import bench_scripts
from tests.conftest import TinyRun

#: the benchmark's row-by-row comparison: same checks, statuses, measured values,
#: thresholds, severities and owners (the wall-clock freshness by status only)
first_difference = bench_scripts.load("bench_contracts").first_difference

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

MARTS_CONTRACT = "marts.odcs.yaml"
Measurement = contract_reuse.DbtMeasurement


def _test_node(name: str, column: str, parent: str | None, **config: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "name": f"{name}_{column}", "resource_type": "test",
        "test_metadata": {"name": name, "namespace": None, "kwargs": {"column_name": column}},
        "config": {"where": None, "limit": None, "fail_calc": "count(*)", **config},
        "attached_node": parent, "depends_on": {
            "nodes": [parent] if parent else [],
            "macros": [f"macro.dbt.test_{name}", "macro.dbt.get_where_subquery"]}}
    return node


TestEntry = tuple[dict[str, Any], dict[str, Any]]  # (manifest node, run result)


def _artifacts(tests: dict[str, TestEntry],
               macros: dict[str, Any] | None = None) -> dbt_artifacts.DbtArtifacts:
    """Artefacts holding a model marts.dim_users, a source raw.receipts and these tests
    (unique id -> (node, result))."""
    manifest = {
        "macros": macros or {"macro.dbt.test_unique": {"name": "test_unique",
                                                       "package_name": "dbt"}},
        "nodes": {"model.cc.dim_users": {"resource_type": "model", "schema": "marts",
                                         "alias": "dim_users", "name": "dim_users"},
                  **{uid: node for uid, (node, _) in tests.items()}},
        "sources": {"source.cc.event_exports.receipts": {
            "resource_type": "source", "schema": "raw", "identifier": "receipts",
            "name": "receipts"}}}
    results = [{"unique_id": uid, **result} for uid, (_, result) in tests.items()]
    return dbt_artifacts.DbtArtifacts(target_path=Path(), manifest=manifest,
                                      run_results={"results": results})


PASSED = {"status": "pass", "failures": 0}


def test_plain_not_null_and_unique_tests_are_taken_on_their_relation() -> None:
    found = contract_reuse.measured_by_dbt(_artifacts({
        "test.cc.nn": (_test_node("not_null", "user_id", "model.cc.dim_users"), PASSED),
        "test.cc.uq": (_test_node("unique", "user_id", "model.cc.dim_users"),
                       {"status": "fail", "failures": 3}),
        # a source test has no attached node: its one source dependency is the relation
        "test.cc.src": (_test_node("unique", "receipt_id", None)
                        | {"depends_on": {"nodes": ["source.cc.event_exports.receipts"],
                                          "macros": ["macro.dbt.test_unique"]}},
                        {"status": "warn", "failures": 2}),
    }))
    assert found == {
        ("marts", "dim_users", "user_id", "not_null"):
            Measurement("test.cc.nn", "not_null_user_id", 0),
        ("marts", "dim_users", "user_id", "unique"):
            Measurement("test.cc.uq", "unique_user_id", 3),
        ("raw", "receipts", "receipt_id", "unique"):
            Measurement("test.cc.src", "unique_receipt_id", 2),
    }


NOT_RUN = {"failures": None}


@pytest.mark.parametrize(("node", "result"), [
    (_test_node("not_null", "user_id", "model.cc.dim_users", where="user_id > 5"), PASSED),
    (_test_node("not_null", "user_id", "model.cc.dim_users", limit=10), PASSED),
    (_test_node("unique", "user_id", "model.cc.dim_users", fail_calc="sum(n_records)"), PASSED),
    (_test_node("unique", "lower(user_id)", "model.cc.dim_users"), PASSED),
    (_test_node("accepted_values", "user_id", "model.cc.dim_users"), PASSED),
    (_test_node("unique", "user_id", "model.cc.dim_users")
     | {"test_metadata": {"name": "unique", "namespace": "other_package",
                          "kwargs": {"column_name": "user_id"}}}, PASSED),
    (_test_node("unique", "user_id", "model.cc.missing"), PASSED),
    (_test_node("unique", "user_id", "model.cc.dim_users")
     | {"depends_on": {"nodes": ["model.cc.dim_users"],
                       "macros": ["macro.carton_caps.test_unique"]}}, PASSED),
    (_test_node("unique", "user_id", "model.cc.dim_users"), NOT_RUN | {"status": "error"}),
    (_test_node("unique", "user_id", "model.cc.dim_users"), NOT_RUN | {"status": "skipped"}),
    (_test_node("unique", "user_id", "model.cc.dim_users"), {"status": "pass", "failures": True}),
    (_test_node("unique", "user_id", "model.cc.dim_users"), {"status": "pass", "failures": -1}),
    (_test_node("unique", "user_id", "model.cc.dim_users"), {"status": "pass", "failures": "0"}),
], ids=["where", "limit", "fail_calc", "expression", "other_test", "other_package",
        "unknown_relation", "own_macro", "error", "skipped", "bool_failures", "negative",
        "text_failures"])
def test_a_test_that_measures_something_else_or_nothing_is_not_taken(
        node: dict[str, Any], result: dict[str, Any]) -> None:
    assert contract_reuse.measured_by_dbt(_artifacts({"test.cc.t": (node, result)})) == {}


def test_a_test_whose_sql_a_package_overrides_is_not_taken() -> None:
    tests = {"test.cc.uq": (_test_node("unique", "user_id", "model.cc.dim_users"), PASSED),
             "test.cc.nn": (_test_node("not_null", "user_id", "model.cc.dim_users"), PASSED)}
    override = {"macro.carton_caps.duckdb__test_unique": {
        "name": "duckdb__test_unique", "package_name": "carton_caps"}}
    found = contract_reuse.measured_by_dbt(_artifacts(tests, override))
    assert list(found) == [("marts", "dim_users", "user_id", "not_null")]


def test_two_tests_of_one_property_that_disagree_are_both_dropped() -> None:
    node = _test_node("unique", "user_id", "model.cc.dim_users")
    agreeing = contract_reuse.measured_by_dbt(_artifacts({
        "test.cc.a": (node, {"status": "fail", "failures": 4}),
        "test.cc.b": (node, {"status": "warn", "failures": 4})}))
    assert [m.failures for m in agreeing.values()] == [4]
    assert contract_reuse.measured_by_dbt(_artifacts({
        "test.cc.a": (node, {"status": "fail", "failures": 4}),
        "test.cc.b": (node, {"status": "pass", "failures": 0}),
        "test.cc.c": (node, {"status": "fail", "failures": 4})})) == {}


def _document() -> dict[str, Any]:
    return {"id": "c", "schema": [
        {"name": "keyed", "physicalName": "keyed_table", "properties": [
            {"name": "id", "primaryKey": True, "required": True},
            {"name": "code", "required": True, "unique": True},
            {"name": "note"}]},
        {"name": "pair", "properties": [
            {"name": "a", "primaryKey": True, "required": True},
            {"name": "b", "primaryKey": True, "required": True}]}]}


def _measured(*keys: tuple[str, str, str], failures: int = 0
              ) -> dict[contract_reuse.PropertyKey, contract_reuse.DbtMeasurement]:
    return {("marts", table, column, test):
            Measurement(f"test.{table}.{column}.{test}", test, failures)
            for table, column, test in keys}


def test_a_single_column_key_is_handed_over_whole_and_the_original_is_untouched() -> None:
    document = _document()
    measured = _measured(("keyed_table", "id", "not_null"), ("keyed_table", "id", "unique"))
    remaining, reused = contract_reuse.split_measured(document, "marts", measured)
    assert remaining["schema"][0]["properties"][0] == {"name": "id"}
    assert document == _document()
    assert [(r.table, r.column, r.check_type, r.measurement.test_id) for r in reused] == [
        ("keyed", "id", "field_required", "test.keyed_table.id.not_null"),
        ("keyed", "id", "field_primary_key_unique", "test.keyed_table.id.unique")]


def test_a_key_column_with_one_measurement_and_a_composite_key_stay_with_the_contract() -> None:
    measured = _measured(("keyed_table", "id", "unique"), ("pair", "a", "not_null"),
                         ("pair", "a", "unique"))
    remaining, reused = contract_reuse.split_measured(_document(), "marts", measured)
    assert remaining == _document() and reused == []


def test_other_columns_lose_only_the_flags_dbt_measured() -> None:
    measured = _measured(("keyed_table", "code", "not_null"), ("keyed_table", "code", "unique"),
                         ("keyed_table", "note", "not_null"))
    remaining, reused = contract_reuse.split_measured(_document(), "marts", measured)
    assert remaining["schema"][0]["properties"][1:] == [{"name": "code"}, {"name": "note"}]
    assert [r.check_type for r in reused] == ["field_required", "field_unique"]
    # another layer's measurement of the same names is not this contract's
    assert contract_reuse.split_measured(_document(), "staging", measured)[1] == []


def test_the_tiny_run_reports_dbt_measured_checks_as_a_full_scan_would(tiny_run: TinyRun) -> None:
    target = tiny_run.home / "logs" / "dbt" / tiny_run.run_id / "target"
    measured = contract_reuse.measured_by_dbt(dbt_artifacts.load(target))
    as_of, days = date(2026, 11, 1), tiny_run.manifest["params"]["days"]
    reused = contracts.evaluate(tiny_run.snapshot, as_of=as_of, days=days,
                                measured_by_dbt=measured)
    scanned = contracts.evaluate(tiny_run.snapshot, as_of=as_of, days=days,
                                 count_with_freshness=False)
    difference = first_difference(reused, scanned)
    assert difference is None, f"reused and scanned checks differ: {difference}"
    by_dbt = {(r.layer, r.table, r.check) for r in reused.results if r.engine == "dbt"}
    assert {("raw", "receipts", "unique"), ("staging", "stg_app_db__users", "unique"),
            ("marts", "dim_users", "unique"), ("marts", "dim_users", "not_null")} <= by_dbt
    # the run itself took them from dbt: its stored rows say so
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        stored = con.execute("select engine, count(*) from ops.contract_results "
                             "group by engine order by engine").fetchall()
    assert dict(stored)["dbt"] == len([r for r in reused.results if r.engine == "dbt"])


def test_a_duplicated_key_is_reported_alike_whether_dbt_or_the_contract_counted_it(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    snapshot = tmp_path / "faulty.duckdb"
    shutil.copyfile(tiny_run.snapshot, snapshot)
    with duckdb.connect(str(snapshot)) as con:
        con.execute("insert into marts.dim_users select * from marts.dim_users "
                    "order by user_id limit 3")
    as_of, days = date(2026, 11, 1), tiny_run.manifest["params"]["days"]
    only = (MARTS_CONTRACT,)
    scanned = contracts.evaluate(snapshot, as_of=as_of, days=days, only=only)
    measured = _measured(("dim_users", "user_id", "not_null"))
    measured |= _measured(("dim_users", "user_id", "unique"), failures=3)
    reused = contracts.evaluate(snapshot, as_of=as_of, days=days, only=only,
                                measured_by_dbt=measured)
    difference = first_difference(reused, scanned)
    assert difference is None, f"reused and scanned checks differ: {difference}"
    row = next(r for r in reused.results if r.table == "dim_users" and r.check == "unique")
    assert (row.status, row.measured, row.threshold, row.engine, row.severity) == (
        "FAIL", "3", "= 0", "dbt", "fail")
    assert row.message == ("Actual duplicate_count(user_id) was 3, expected = 0 "
                           "(measured by dbt test unique)")
    assert row in reused.blocking
