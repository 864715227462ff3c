"""A partition materialised in process is one pipeline run: it publishes a snapshot whose
manifest is complete and names the Dagster run, Dagster's records name the pipeline run,
and the asset checks are the run's dbt and contract results. A failing partition fails
the Dagster step with the run's failing step, moves nothing and posts one alert."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest

import duckdb
from foundation.paths import HomePaths
from orchestration.asset_graph import CONTRACT_CHECK, SNAPSHOT
from orchestration.results import RUN_ID_KEY
from pipeline.records.pointer import read_pointer
from pipeline.transform import artifacts
from tests.alerts.conftest import scripted_webhook
from tests.orchestration.conftest import Orchestration, assert_complete

pytestmark = pytest.mark.orchestration
AS_OF = "2026-11-02"


@dataclass(frozen=True)
class Materialised:
    result: dg.ExecuteInProcessResult
    run_id: str
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def one_partition(orch: Orchestration) -> Materialised:
    result = orch.materialize(AS_OF, users=1000)
    assert result.success
    run_id = orch.pipeline_run_id(result)
    return Materialised(result, run_id, orch.manifest(run_id))


def test_a_partition_publishes_a_snapshot_with_a_complete_manifest(
        orch: Orchestration, one_partition: Materialised) -> None:
    document = one_partition.manifest
    assert_complete(document, as_of=AS_OF)
    assert document["params"]["users"] == 1000
    assert document["orchestrator"]["run_id"] == one_partition.result.run_id
    assert read_pointer(HomePaths(orch.home)) == one_partition.run_id
    snapshot = HomePaths(orch.home).run(one_partition.run_id).snapshot
    assert snapshot.is_file()


def test_every_asset_is_materialised_naming_the_pipeline_run(
        orch: Orchestration, one_partition: Materialised) -> None:
    materialised = one_partition.result.get_asset_materialization_events()
    assert {e.asset_key for e in materialised} == set(
        orch.defs.resolve_asset_graph().get_all_asset_keys())
    for event in materialised:
        metadata = event.materialization.metadata
        assert metadata[RUN_ID_KEY].value == one_partition.run_id
        assert event.partition == AS_OF
    latest = orch.instance.get_latest_materialization_event(SNAPSHOT)
    assert latest is not None and latest.asset_materialization is not None
    assert latest.asset_materialization.metadata["sha256"].value == (
        one_partition.manifest["snapshot"]["sha256"])


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[dg.AssetCheckKey, Any]:
    return {e.asset_check_key: e for e in result.get_asset_check_evaluations()}


def test_dbt_tests_are_checks_with_dbt_results(orch: Orchestration,
                                               one_partition: Materialised) -> None:
    evaluations = _evaluations(one_partition.result)
    assert set(evaluations) == set(orch.defs.resolve_asset_graph().asset_check_keys)
    run_results = artifacts.load(
        HomePaths(orch.home).run(one_partition.run_id).dbt_dir / "target").results()
    by_id = {r["unique_id"]: r for r in run_results}
    for uid, key in orch.graph.test_checks.items():
        evaluation, result = evaluations[key], by_id[uid]
        assert evaluation.metadata["dbt_status"].value == result["status"]
        assert evaluation.passed == (result["status"] == "pass")
        if result.get("failures") is not None:
            assert evaluation.metadata["measured"].value == result["failures"]
        assert evaluation.metadata["threshold"].value
    statuses = Counter(by_id[uid]["status"] for uid in orch.graph.test_checks)
    dbt = one_partition.manifest["dbt"]
    models = sum(r["unique_id"].startswith("model.") for r in run_results)
    assert models > 40
    assert statuses["pass"] == dbt["pass"] - models  # the summary also counts the models


def test_contracts_are_checks_with_their_measured_values_and_thresholds(
        orch: Orchestration, one_partition: Materialised) -> None:
    evaluations = _evaluations(one_partition.result)
    snapshot = HomePaths(orch.home).run(one_partition.run_id).snapshot
    with duckdb.connect(str(snapshot), read_only=True) as con:
        rows = con.execute("select layer, table_name, status, measured, threshold "
                           "from ops.contract_results").fetchall()
    for (layer, table), key in orch.graph.contract_checks.items():
        evaluation = evaluations[key]
        assert key.name == CONTRACT_CHECK
        mine = [r for r in rows if (r[0], r[1]) == (layer, table)]
        assert evaluation.metadata["checks"].value == len(mine) > 0
        assert evaluation.passed == all(r[2] == "PASS" for r in mine)
        assert (evaluation.metadata["fail"].value, evaluation.metadata["warn"].value) == (
            sum(r[2] == "FAIL" for r in mine), sum(r[2] == "WARN" for r in mine))
        records = evaluation.metadata["results"].records
        assert sorted((r.data["measured"], r.data["threshold"]) for r in records) == sorted(
            ("" if r[3] is None else r[3], "" if r[4] is None else r[4]) for r in mine)
    total = sum(e.metadata["checks"].value for k, e in evaluations.items()
                if k.name == CONTRACT_CHECK)
    assert total == one_partition.manifest["contracts"]["summary"]["total"] == len(rows)


def test_dagsters_records_hold_the_checks(orch: Orchestration,
                                          one_partition: Materialised) -> None:
    keys = list(orch.defs.resolve_asset_graph().asset_check_keys)
    latest = orch.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    assert set(latest) == set(keys)
    assert all(record.run_id == one_partition.result.run_id for record in latest.values())


def test_a_failing_partition_fails_the_step_moves_nothing_and_alerts_once(
        orch: Orchestration, one_partition: Materialised,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_webhook() as hook:
        monkeypatch.setenv("CARTON_CAPS_ALERT_WEBHOOK", hook.url)
        result = orch.materialize("2026-11-05", faults="schema_drift_missing_column")
    assert not result.success
    assert result.get_asset_materialization_events() == []
    failure = result.get_step_failure_events()[0].step_failure_data
    assert failure.user_failure_data is not None
    metadata = failure.user_failure_data.metadata
    assert (metadata["status"].value, metadata["failed_step"].value, metadata["exit_code"].value
            ) == ("failed", "load_raw", 1)
    run_id = metadata[RUN_ID_KEY].value
    assert orch.manifest(run_id)["orchestrator"]["run_id"] == result.run_id
    assert read_pointer(HomePaths(orch.home)) == one_partition.run_id
    [body] = hook.bodies
    assert (body["run_id"], body["trigger"], body["failed_step"]) == (run_id, "failed",
                                                                      "load_raw")
    assert body["orchestrator"] == {"name": "dagster", "run_id": result.run_id,
                                    "partition": "2026-11-05"}


def test_bad_run_config_is_refused_before_anything_is_written(orch: Orchestration) -> None:
    before = sorted(HomePaths(orch.home).logs_dir.glob("pipeline_*.json"))
    result = orch.materialize("2026-11-06", engine="Spark")
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data
    assert failure.user_failure_data is not None
    # the end of argparse's message ("(choose from ...)") differs between Python releases
    assert failure.user_failure_data.description.startswith(
        "invalid run parameters: argument --engine: invalid choice: 'Spark'")
    assert sorted(HomePaths(orch.home).logs_dir.glob("pipeline_*.json")) == before
