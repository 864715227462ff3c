"""The definitions load, and their assets and checks are the run's recognisable parts: the
source files, the raw tables, every dbt model of the manifest and the snapshot; every dbt
test and unit test, each table's contract, source freshness and the run's health."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from foundation.paths import DBT_PROJECT_DIR, REPO_ROOT
from orchestration.asset_graph import CONTRACT_CHECK, SNAPSHOT, SOURCE_FILES
from orchestration.schedules import JOB_NAME, SCHEDULE_NAME
from pipeline.checks.contracts import table_owners
from tests.orchestration.conftest import Orchestration

pytestmark = pytest.mark.orchestration


def asset_keys(orch: Orchestration) -> set[dg.AssetKey]:
    return set(orch.defs.resolve_asset_graph().get_all_asset_keys())


def test_every_dbt_model_source_and_step_is_an_asset(orch: Orchestration) -> None:
    manifest = orch.graph.manifest
    models = {dg.AssetKey([n["config"]["schema"], n["name"]])
              for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    raw = {dg.AssetKey(["raw", s["name"]]) for s in manifest["sources"].values()}
    assert asset_keys(orch) == {SOURCE_FILES, SNAPSHOT} | raw | models
    model_files = [p for p in (DBT_PROJECT_DIR / "models").rglob("*")
                   if p.suffix in (".sql", ".py")]
    assert len(models) == len(model_files) > 40 and len(raw) == 9


def test_the_asset_graph_is_the_dbt_lineage_plus_the_steps(orch: Orchestration) -> None:
    graph = orch.defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["raw", "users"])).parent_keys == {SOURCE_FILES}
    assert dg.AssetKey(["raw", "users"]) in graph.get(
        dg.AssetKey(["staging", "stg_app_db__users"])).parent_keys
    assert dg.AssetKey(["marts", "dim_users"]) in graph.get(SNAPSHOT).parent_keys


def test_every_dbt_test_and_contract_is_a_check(orch: Orchestration) -> None:
    manifest = orch.graph.manifest
    checks = set(orch.defs.resolve_asset_graph().asset_check_keys)
    tests = [uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "test"]
    assert set(orch.graph.test_checks) == {*tests, *manifest["unit_tests"]}
    contract_checks = {c for c in checks if c.name == CONTRACT_CHECK}
    owned_tables = len(table_owners())  # every table a contract covers
    assert len(contract_checks) == owned_tables > 40
    # every dbt test and unit test, each table's contract, freshness per raw table, health
    assert len(checks) == len(tests) + len(manifest["unit_tests"]) + owned_tables + 9 + 1


def test_one_job_partitioned_by_as_of_date_and_a_daily_schedule(orch: Orchestration) -> None:
    job = orch.defs.resolve_job_def(JOB_NAME)
    partitions = job.partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.timezone == "UTC"
    schedule = orch.defs.resolve_schedule_def(SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 5 * * *", "UTC")


def test_the_schedule_asks_for_that_mornings_as_of_date(orch: Orchestration) -> None:
    schedule = orch.defs.resolve_schedule_def(SCHEDULE_NAME)
    context = dg.build_schedule_context(
        instance=orch.instance, scheduled_execution_time=datetime(2026, 11, 2, 5, 30, tzinfo=UTC),
        repository_def=orch.defs.get_repository_def())
    requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests or ()] == ["2026-11-02"]


def test_make_orchestrate_serves_the_ui_on_127_0_0_1_only() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\norchestrate:", 1)[1].split("\n\n", 1)[0]
    assert "dagster dev -m orchestration.definitions" in recipe
    assert "--host 127.0.0.1" in recipe and "0.0.0.0" not in recipe
