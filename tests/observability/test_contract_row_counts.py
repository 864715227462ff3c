"""Row counts measured in the freshness query (pipeline/checks/contract_row_counts.py):
which rules are taken from datacontract-cli, and that a user reads the same check, status,
measured value, threshold and message as datacontract-cli gives, passing or failing."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import duckdb
from pipeline.checks import contract_row_counts, contracts
from tests.bench import bench_scripts
from tests.conftest import TinyRun

first_difference = bench_scripts.load("bench_contracts").first_difference

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

STAGING_CONTRACT = "staging.odcs.yaml"
PLAIN = {"id": "t_min_rows", "type": "library", "metric": "rowCount",
         "mustBeGreaterOrEqualTo": 1, "severity": "error", "description": "not empty"}


def _document(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"id": "c", "schema": [
        {"name": "t", "physicalName": "t_physical", "quality": list(rules)},
        {"name": "other", "quality": [dict(PLAIN, id="other_min_rows")]}]}


def test_a_plain_rule_of_a_named_table_is_taken_and_the_original_is_untouched() -> None:
    document = _document(PLAIN, {"id": "t_sql", "type": "sql", "query": "select 1",
                                 "mustBe": 1})
    remaining, taken = contract_row_counts.split_row_counts(document, {"t"})
    assert taken == [contract_row_counts.RowCountRule(
        table="t", physical="t_physical", quality_id="t_min_rows",
        comparison="mustBeGreaterOrEqualTo", bound=1)]
    assert [r["id"] for r in remaining["schema"][0]["quality"]] == ["t_sql"]
    # a table not named keeps its rule; the caller's document is not changed
    assert remaining["schema"][1] == document["schema"][1]
    assert [r["id"] for r in document["schema"][0]["quality"]] == ["t_min_rows", "t_sql"]


def test_a_table_left_without_rules_has_no_quality_list() -> None:
    remaining, _ = contract_row_counts.split_row_counts(_document(PLAIN), {"t"})
    assert "quality" not in remaining["schema"][0]


@pytest.mark.parametrize("rule", [
    {**PLAIN, "mustBeGreaterOrEqualTo": 1.0},  # datacontract-cli would write "1.0"
    {**PLAIN, "mustBeGreaterOrEqualTo": True},
    {**PLAIN, "mustBeLessThan": 10},  # two comparisons: datacontract-cli picks one
    {k: v for k, v in PLAIN.items() if k != "mustBeGreaterOrEqualTo"} | {"mustBeBetween": [1, 9]},
    {k: v for k, v in PLAIN.items() if k != "mustBeGreaterOrEqualTo"} | {"mustNotBe": 0},
    {**PLAIN, "unit": "percent"},
    {**PLAIN, "arguments": {"filter": "x > 1"}},
    {k: v for k, v in PLAIN.items() if k != "id"},
    {**PLAIN, "type": "sql"},
    {**PLAIN, "metric": "nullValues"},
])
def test_a_rule_that_is_not_a_plain_row_count_stays_with_datacontract_cli(
        rule: dict[str, Any]) -> None:
    remaining, taken = contract_row_counts.split_row_counts(_document(rule), {"t"})
    assert taken == []
    assert remaining["schema"][0]["quality"] == [rule]


@pytest.mark.parametrize(("key", "bound", "rows", "passes", "threshold"), [
    ("mustBe", 3, 3, True, "= 3"), ("mustBe", 3, 4, False, "= 3"),
    ("mustBeGreaterThan", 0, 0, False, "> 0"), ("mustBeGreaterThan", 0, 1, True, "> 0"),
    ("mustBeGreaterOrEqualTo", 1, 0, False, ">= 1"),
    ("mustBeLessThan", 5, 5, False, "< 5"), ("mustBeLessOrEqualTo", 5, 5, True, "<= 5"),
])
def test_each_comparison_judges_and_describes_as_datacontract_cli(
        key: str, bound: int, rows: int, passes: bool, threshold: str) -> None:
    rule = {k: v for k, v in PLAIN.items() if k != "mustBeGreaterOrEqualTo"} | {key: bound}
    _, (taken,) = contract_row_counts.split_row_counts(_document(rule), {"t"})
    assert (taken.passes(rows), taken.threshold) == (passes, threshold)
    assert taken.failure_message(rows) == (
        f"Actual row_count(t_physical) was {rows}, expected {threshold}")


def _evaluate(snapshot: Path, tiny_run: TinyRun, *, count_with_freshness: bool
              ) -> contracts.ContractReport:
    return contracts.evaluate(snapshot, as_of=date(2026, 11, 1),
                              days=tiny_run.manifest["params"]["days"],
                              only=(STAGING_CONTRACT,), count_with_freshness=count_with_freshness)


def test_an_empty_view_fails_its_row_count_exactly_as_datacontract_cli_fails_it(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    snapshot = tmp_path / "empty_referrals.duckdb"
    shutil.copyfile(tiny_run.snapshot, snapshot)
    with duckdb.connect(str(snapshot)) as con:
        con.execute("delete from raw.referrals")
    counted = _evaluate(snapshot, tiny_run, count_with_freshness=True)
    scanned = _evaluate(snapshot, tiny_run, count_with_freshness=False)
    difference = first_difference(counted, scanned)
    assert difference is None, f"counted and scanned checks differ: {difference}"
    by_sql = {r.check: r for r in counted.results if r.check_type == "row_count"
              and r.engine == "sql"}
    # every staging table with an event-time SLA, and no other, was counted in SQL
    slas = {r.table for r in counted.results if r.check_type == "event_time_freshness"}
    assert {r.table for r in by_sql.values()} == slas
    assert "stg_app_db__referrals" in slas
    row = by_sql["stg_app_db__referrals_min_rows"]
    cli = next(r for r in scanned.results if r.check == "stg_app_db__referrals_min_rows")
    assert (row.status, row.measured, row.threshold, row.severity, row.message) == (
        cli.status, cli.measured, cli.threshold, cli.severity, cli.message) == (
        "FAIL", "0", ">= 1", "fail",
        "Actual row_count(stg_app_db__referrals) was 0, expected >= 1")
    assert cli.engine == "datacontract-cli"
    assert row in counted.blocking
    # the same query found no newest row for the SLA either
    recency = next(r for r in counted.results if r.check == "stg_app_db__referrals_event_recency")
    assert (recency.status, recency.measured, recency.message) == (
        "WARN", None, "stg_app_db__referrals.sent_at has no rows")


def test_a_relation_that_cannot_be_read_fails_the_count_and_the_freshness(
        tmp_path: Path) -> None:
    document = {"id": "c", "servers": [{"schema": "staging"}], "schema": [
        {"name": "t", "quality": [PLAIN]}]}
    sla = {"property": "freshness", "element": "t.event_at", "value": 2, "unit": "d"}
    _, rules = contract_row_counts.split_row_counts(document, {"t"})
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        results = contracts._measure_tables(document, contracts._event_slas(document, [sla]),
                                            rules, con, datetime(2026, 11, 1))
    freshness, count = results
    assert freshness.message == ('Catalog Error: Table with name "staging.t" does not exist '
                                 'because schema "staging" does not exist.')
    assert (count.check, count.status, count.measured, count.threshold, count.engine) == (
        "t_min_rows", "FAIL", None, None, "sql")
    assert count.message == f"Error evaluating check: {freshness.message}"
