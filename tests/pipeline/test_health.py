"""The run's health: one finding per root cause, symptoms folded in, impact down lineage."""

from __future__ import annotations

from typing import Any

from pipeline.checks.dbt_graph import DbtGraph
from pipeline.checks.health import RunHealth, assess
from pipeline.records.run_manifest import DbtSummary, RunManifest, RunParams, RunWarning

SRC_LEDGER = "source.carton_caps.event_exports.rewards_ledger"
SRC_RECEIPTS = "source.carton_caps.event_exports.receipts"
SRC_EVENTS = "source.carton_caps.event_exports.app_events"
STG_LEDGER = "model.carton_caps.stg_event_exports__rewards_ledger"
FCT_LEDGER = "model.carton_caps.fct_rewards_ledger"
MART_LIABILITY = "model.carton_caps.mart_reward_liability_daily"
STG_RECEIPTS = "model.carton_caps.stg_event_exports__receipts"
FCT_RECEIPTS = "model.carton_caps.fct_receipts"
STG_EVENTS = "model.carton_caps.stg_event_exports__app_events"


def node(schema: str, name: str, *parents: str, kind: str = "model") -> dict[str, Any]:
    return {"resource_type": kind, "name": name, "schema": schema, "alias": name,
            "identifier": name, "depends_on": {"nodes": list(parents)}}


def dbt_test(name: str, attached: str | None, *depends: str, generic: str | None = None,
         ) -> dict[str, Any]:
    return {"resource_type": "test", "name": name, "attached_node": attached,
            "depends_on": {"nodes": list(depends)},
            "test_metadata": {"name": generic} if generic else {}}


GRAPH = DbtGraph.from_manifest({
    "sources": {
        SRC_LEDGER: node("raw", "rewards_ledger", kind="source"),
        SRC_RECEIPTS: node("raw", "receipts", kind="source"),
        SRC_EVENTS: node("raw", "app_events", kind="source"),
    },
    "nodes": {
        STG_LEDGER: node("staging", "stg_event_exports__rewards_ledger", SRC_LEDGER),
        FCT_LEDGER: node("marts", "fct_rewards_ledger", STG_LEDGER),
        MART_LIABILITY: node("marts", "mart_reward_liability_daily", FCT_LEDGER),
        STG_RECEIPTS: node("staging", "stg_event_exports__receipts", SRC_RECEIPTS),
        FCT_RECEIPTS: node("marts", "fct_receipts", STG_RECEIPTS),
        STG_EVENTS: node("staging", "stg_event_exports__app_events", SRC_EVENTS),
        "test.carton_caps.recency_fct_rewards_ledger.1": dbt_test(
            "recency_fct_rewards_ledger", FCT_LEDGER, FCT_LEDGER, generic="recency"),
        "test.carton_caps.source_unique_event_exports_receipts_receipt_id.2": dbt_test(
            "source_unique", SRC_RECEIPTS, SRC_RECEIPTS, generic="unique"),
        "test.carton_caps.assert_liability_reconciles_to_ledger": dbt_test(
            "assert_liability_reconciles_to_ledger", None, MART_LIABILITY, FCT_LEDGER),
        "test.carton_caps.assert_events_not_before_install": dbt_test(
            "assert_events_not_before_install", None, STG_RECEIPTS, STG_EVENTS),
    },
    "exposures": {"exposure.carton_caps.finance": node("", "finance", MART_LIABILITY,
                                                       kind="exposure")},
})


def contract(layer: str, table: str, column: str | None, check: str, check_type: str,
             status: str = "WARN", measured: str = "3", threshold: str = "= 0",
             owner: str = "Engineering") -> dict[str, Any]:
    return {"layer": layer, "table": table, "column": column, "check": check,
            "check_type": check_type, "status": status, "severity": status.lower(),
            "owner": owner, "measured": measured, "threshold": threshold}


def run(**fields: Any) -> RunManifest:
    manifest = RunManifest(run_id="r", status=fields.pop("status", "success"),
                           started_at=None, home="/h",
                           params=RunParams(7, 300, "2026-11-01", 540,
                                            tuple(fields.pop("faults", ()))))
    for name, value in fields.items():
        setattr(manifest, name, value)
    return manifest


STALE = [contract(layer, table, "created_at", f"{prefix}_event_recency",
                  "event_time_freshness", measured="120.12 h", threshold="<= 96 h",
                  owner=owner)
         for layer, table, prefix, owner in (
             ("raw", "rewards_ledger", "raw_rewards_ledger", "Engineering"),
             ("staging", "stg_event_exports__rewards_ledger", "stg", "Finance"),
             ("marts", "fct_rewards_ledger", "fct", "Finance"))]
DUPLICATES = [contract("raw", "receipts", "receipt_id", "unique",
                       "field_primary_key_unique")]


def test_a_clean_run_is_healthy() -> None:
    health = assess(run(), GRAPH)
    assert (health.status, health.findings) == ("healthy", ())


def test_a_stale_export_is_one_finding_with_its_downstream_checks_as_consequences() -> None:
    """Three contract WARNs (raw, staging, mart), a dbt recency warning, the pipeline's
    echo of each: one root cause."""
    manifest = run(contracts={"failing": STALE},
                   dbt=DbtSummary(warn=1, failures=({
                       "unique_id": "test.carton_caps.recency_fct_rewards_ledger.1",
                       "status": "warn", "failures": 1},)),
                   warnings=[RunWarning("contracts", "contract WARN: raw.rewards_ledger ..."),
                             RunWarning("dbt_artifacts", "dbt warn: recency ...")])
    health = assess(manifest, GRAPH)
    (finding,) = health.findings
    assert health.status == "warnings"
    assert (finding.subject, finding.category, finding.severity, finding.owner) == (
        SRC_LEDGER, "stale data", "warning", "Engineering")
    assert finding.title == ("rewards_ledger (raw.rewards_ledger): stale data "
                             "(120.12 h, expected <= 96 h)")
    assert len(finding.evidence) == 1 and len(finding.consequences) == 3
    assert finding.reason.endswith("the latest days may be missing from figures built on it")
    assert finding.impacted == ("raw.rewards_ledger", "staging.stg_event_exports__rewards_ledger",
                                "marts.fct_rewards_ledger", "marts.mart_reward_liability_daily",
                                "exposure:finance")
    assert finding.page == "data_contracts"


def test_two_faults_on_one_table_are_two_root_causes() -> None:
    """Duplicate keys and an added column both hit receipts: two findings, not one."""
    manifest = run(contracts={"failing": DUPLICATES},
                   schema_drift={"changes": [
                       {"layer": "source", "schema": "receipts.csv", "table": "receipts",
                        "column": "loyalty_card_id", "change": "column_added",
                        "detail": "receipts.loyalty_card_id added"},
                       {"layer": "snapshot", "schema": "raw", "table": "receipts",
                        "column": "loyalty_card_id", "change": "column_added",
                        "detail": "raw.receipts.loyalty_card_id added (VARCHAR)"}]},
                   dbt=DbtSummary(warn=1, failures=({
                       "unique_id": "test.carton_caps.source_unique_event_exports_receipts_"
                                    "receipt_id.2", "status": "warn", "failures": 3},)))
    health = assess(manifest, GRAPH)
    assert sorted((f.category, f.subject) for f in health.findings) == [
        ("duplicate keys", SRC_RECEIPTS), ("schema change", SRC_RECEIPTS)]
    drift = next(f for f in health.findings if f.category == "schema change")
    assert drift.title == "receipts (raw.receipts): schema change (loyalty_card_id added)"
    assert len(drift.evidence) == 2


def test_a_singular_test_reading_several_models_joins_the_finding_upstream_of_one() -> None:
    """A test over receipts and app_events that warns after late events is a consequence
    of the late events (upstream of one of the models it reads)."""
    manifest = run(contracts={"failing": [contract(
                       "raw", "app_events", "event_time", "raw_app_events_no_rows_before_window",
                       "field_quality_sql", measured="21")]},
                   dbt=DbtSummary(warn=1, failures=({
                       "unique_id": "test.carton_caps.assert_events_not_before_install",
                       "status": "warn", "failures": 15},)))
    (finding,) = assess(manifest, GRAPH).findings
    assert (finding.subject, finding.category) == (SRC_EVENTS, "rows before the history window")
    assert [s.ref for s in finding.consequences] == [
        "test.carton_caps.assert_events_not_before_install"]


def test_a_failed_run_is_failed_and_its_failure_joins_the_error_that_caused_it() -> None:
    manifest = run(status="failed", failed_step="dbt_build", error="dbt build failed: 2 nodes",
                   contracts={"failing": [contract("raw", "rewards_ledger", "user_id",
                                                   "foreign_key", "field_relationships",
                                                   status="FAIL")]},
                   dbt=DbtSummary(error=1, failures=({
                       "unique_id": "test.carton_caps.assert_liability_reconciles_to_ledger",
                       "status": "fail", "failures": 216},)))
    health = assess(manifest, GRAPH)
    (finding,) = health.findings
    assert (health.status, finding.severity, finding.category) == (
        "failed", "error", "orphaned references")
    assert {s.kind for s in finding.consequences} == {"dbt_test", "run"}


def test_a_failure_nothing_explains_is_a_finding_of_its_own() -> None:
    health = assess(run(status="interrupted", failed_step="contracts",
                        error="contracts: interrupted"), GRAPH)
    (finding,) = health.findings
    assert (health.status, finding.subject, finding.title) == (
        "failed", "run", "run interrupted at step contracts: contracts: interrupted")


def test_a_load_failure_lands_on_the_file_it_refused() -> None:
    health = assess(run(status="failed", failed_step="load_raw",
                        error="app_events.csv: missing required column 'app_version'"), GRAPH)
    (finding,) = health.findings
    assert (finding.subject, finding.category) == (SRC_EVENTS, "load failed")


def test_injected_faults_are_context_not_findings() -> None:
    health = assess(run(faults=("duplicate_keys",), contracts={"failing": DUPLICATES}), GRAPH)
    assert len(health.findings) == 1 and health.faults == ("duplicate_keys",)


def test_health_round_trips_through_the_manifest_json() -> None:
    health = assess(run(contracts={"failing": STALE + DUPLICATES}), GRAPH)
    assert RunHealth.from_json(health.to_json()) == health
    assert health.counts() == {"error": 0, "warning": 2, "info": 0}
    assert {f.finding_id for f in health.affecting(["marts.mart_reward_liability_daily"])} == {
        f"stale_data:{SRC_LEDGER}:created_at"}
