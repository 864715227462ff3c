"""Injected faults are caught by the right dbt tests with the right severity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import duckdb
from codegen.dbt_project import ageing_buckets
from tests.dbt.conftest import DbtBuild, build_raw_db, run_dbt

FAULTS = (
    "duplicate_keys", "orphan_foreign_keys", "negative_amounts", "future_events",
    "late_events", "stale_export", "empty_table",
)


@pytest.fixture(scope="module")
def faulty_build(tmp_path_factory: pytest.TempPathFactory) -> DbtBuild:
    work_dir = tmp_path_factory.mktemp("dbt_faulty")
    db_path = build_raw_db(work_dir, faults=FAULTS)
    return DbtBuild(db_path=db_path, work_dir=work_dir,
                     result=run_dbt(["build"], db_path, work_dir))


def _by_status(build: DbtBuild, status: str) -> set[str]:
    return {r["unique_id"].split(".")[2] for r in build.run_results["results"]
            if r["status"] == status}


@pytest.mark.pipeline_run
def test_broken_data_fails_the_build(faulty_build: DbtBuild) -> None:
    assert faulty_build.result.returncode == 1
    failed = _by_status(faulty_build, "fail")
    assert "relationships_fct_rewards_ledger_user_id__user_id__ref_dim_users_" in failed
    assert "accepted_range_fct_receipts_total_cents__0" in failed
    assert "assert_no_events_after_as_of" in failed
    assert "row_count_between_fct_receipt_items_1" in failed


@pytest.mark.pipeline_run
def test_anomalies_only_warn(faulty_build: DbtBuild) -> None:
    warned = _by_status(faulty_build, "warn")
    assert "assert_events_not_before_install" in warned
    assert "recency_fct_rewards_ledger_day__created_at__3" in warned
    assert any(name.startswith("source_unique_") for name in warned)


@pytest.mark.pipeline_run
def test_duplicate_keys_are_collapsed_in_staging(faulty_build: DbtBuild) -> None:
    passed = _by_status(faulty_build, "pass")
    unique_staging = {name for name in passed
                      if name.startswith("unique_stg_") and name.endswith("_id")}
    assert len(unique_staging) == 9


@pytest.mark.pipeline_run
def test_models_still_build_when_tests_fail(faulty_build: DbtBuild) -> None:
    errors = {r["unique_id"] for r in faulty_build.run_results["results"]
              if r["status"] == "error"}
    assert errors == set()


@pytest.mark.pipeline_run
def test_by_school_liability_off_by_a_cent_on_any_day_fails_the_reconciliation(
    dbt_build: DbtBuild, tmp_path: Path
) -> None:
    copy = tmp_path / "tampered.duckdb"
    shutil.copyfile(dbt_build.db_path, copy)
    with duckdb.connect(str(copy)) as con:
        first, second = con.execute(
            "select school_id, balance_date from marts.mart_reward_liability_by_school "
            "where not is_latest_balance order by balance_date, school_id limit 2").fetchall()
        # one row: a bucket no longer adds up; the other: liability and bucket both off
        bucket = ageing_buckets()[0].column
        con.execute("update marts.mart_reward_liability_by_school "
                    f"set {bucket} = {bucket} + 0.01 "
                    "where school_id = ? and balance_date = ?", list(first))
        con.execute("update marts.mart_reward_liability_by_school "
                    "set liability_dollars = liability_dollars + 0.01, "
                    f"{bucket} = {bucket} + 0.01 "
                    "where school_id = ? and balance_date = ?", list(second))
    result = run_dbt(["test", "--select", "assert_liability_reconciles_to_ledger"],
                     copy, tmp_path)
    assert result.returncode == 1
    (outcome,) = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert (outcome["status"], outcome["failures"]) == ("fail", 2)
