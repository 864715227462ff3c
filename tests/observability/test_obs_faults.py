"""Every generator fault class is caught: by which check, and whether the run fails or warns.

One clean baseline run, then one tiny run per fault class in the same home (so drift and
volume checks have a previous run). A failing run leaves the pointer on the baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import duckdb
from tests.conftest import run_tiny

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@dataclass(frozen=True)
class Detection:
    """What must report a fault: a contract check (layer.table.column check STATUS)."""

    fault: str
    run_fails: bool
    contract: tuple[str, str, str | None, str, str] | None = None  # layer, table, col, check, st
    drift: tuple[str, str, str] | None = None  # table, column, change
    load_error: str | None = None
    dbt_warning: str | None = None
    # a raw column the snapshot diff must report too (schema, table, column, change)
    snapshot_drift: tuple[str, str, str, str] | None = None
    only_drift: bool = False  # no contract check and no dbt test may report anything
    #: the one finding of the run's health it is: (category, raw table it is about)
    finding: tuple[str, str] | None = None


DETECTIONS = [
    Detection("duplicate_keys", False, ("raw", "receipts", "receipt_id", "unique", "WARN"),
              dbt_warning="source_unique_event_exports_receipts_receipt_id",
              finding=("duplicate keys", "receipts")),
    Detection("null_keys", True, ("raw", "app_events", "event_id", "not_null", "FAIL"),
              finding=("missing values", "app_events")),
    Detection("orphan_foreign_keys", True,
              ("raw", "rewards_ledger", "user_id", "foreign_key", "FAIL"),
              finding=("orphaned references", "rewards_ledger")),
    Detection("late_events", False, ("raw", "app_events", "event_time",
                                     "raw_app_events_no_rows_before_window", "WARN"),
              finding=("rows before the history window", "app_events")),
    Detection("future_events", True, ("raw", "app_events", "event_time",
                                      "raw_app_events_no_future_rows", "FAIL"),
              finding=("rows after the as-of date", "app_events")),
    Detection("negative_amounts", True, ("raw", "receipts", "total_cents",
                                         "raw_receipts_total_cents_not_negative", "FAIL"),
              finding=("negative amounts", "receipts")),
    Detection("schema_drift_extra_column", False,
              drift=("receipts", "loyalty_card_id", "column_added"),
              snapshot_drift=("raw", "receipts", "loyalty_card_id", "column_added"),
              only_drift=True, finding=("schema change", "receipts")),
    Detection("schema_drift_missing_column", True,
              load_error="app_events.csv: missing required column 'app_version'",
              finding=("load failed", "app_events")),
    Detection("stale_export", False, ("raw", "rewards_ledger", "created_at",
                                      "raw_rewards_ledger_event_recency", "WARN"),
              finding=("stale data", "rewards_ledger")),
    Detection("empty_table", True, ("raw", "receipt_items", None,
                                    "raw_receipt_items_min_rows", "FAIL"),
              finding=("too few rows", "receipt_items")),
    # failures over time: every row stays valid, so the run publishes; the anomaly
    # monitoring flags them (marts.mart_metric_anomalies, warn findings of category
    # "anomaly", and tests/observability/test_monitoring_faults.py at a size where it can)
    *(Detection(fault, False) for fault in ("outage_day", "platform_outage", "replayed_day",
                                            "null_burst", "unit_change", "rejection_spike")),
]


@pytest.fixture(scope="module")
def fault_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fault_home")
    assert run_tiny(home, "baseline") == 0
    return home


def _manifest(home: Path, run_id: str) -> dict[str, Any]:
    return json.loads((home / "logs" / f"pipeline_{run_id}.json").read_text())


def test_the_table_covers_every_generator_fault() -> None:
    from generator.data_generator import FAULT_CLASSES

    assert sorted(d.fault for d in DETECTIONS) == sorted(FAULT_CLASSES)


@pytest.mark.pipeline_run
@pytest.mark.parametrize("detection", DETECTIONS, ids=lambda d: d.fault)
def test_fault_is_detected(fault_home: Path, detection: Detection) -> None:
    run_id = f"fault_{detection.fault}"
    pointer = fault_home / "duckdb" / "LATEST_DB.txt"
    exit_code = run_tiny(fault_home, run_id, "--faults", detection.fault)
    manifest = _manifest(fault_home, run_id)

    if detection.run_fails:
        assert exit_code == 1
        assert manifest["status"] == "failed" and manifest["pointer_updated"] is False
        assert pointer.read_text() == "carton_caps_baseline.duckdb\n"
    else:
        assert exit_code == 0, manifest["error"]
        assert manifest["status"] == "success"
        assert pointer.read_text() == f"carton_caps_{run_id}.duckdb\n"
        pointer.write_text("carton_caps_baseline.duckdb\n")  # keep the baseline served

    # the run's health: one finding for the fault, whatever else reported it; any other
    # finding is a schema change against the previous successful run of this shared home
    findings = manifest["health"]["findings"]
    if detection.finding is None:  # a fault over time: at most anomaly warnings, never a failure
        assert manifest["health"]["status"] in ("healthy", "warnings")
        assert all(f["category"] in ("anomaly", "schema change") for f in findings), findings
        return
    expected_status = "failed" if detection.run_fails else "warnings"
    assert manifest["health"]["status"] == expected_status
    category, table = detection.finding
    about_the_fault = [(f["category"], f["subject"].rsplit(".", 1)[-1]) for f in findings
                       if f["subject"].rsplit(".", 1)[-1] == table]
    assert about_the_fault == [(category, table)], findings
    assert all(f["category"] == "schema change" for f in findings
               if f["subject"].rsplit(".", 1)[-1] != table), findings

    if detection.load_error:
        assert manifest["failed_step"] == "load_raw"
        assert manifest["error"] == detection.load_error
    if detection.contract:
        layer, table, column, check, status = detection.contract
        failing = [(r["layer"], r["table"], r["column"], r["check"], r["status"])
                   for r in manifest["contracts"]["failing"]]
        assert (layer, table, column, check, status) in failing, failing
        if detection.run_fails:
            assert manifest["failed_step"] in ("dbt_build", "quality_gate")
    if detection.drift:
        table, column, change = detection.drift
        changes = [(c["table"], c["column"], c["change"])
                   for c in manifest["schema_drift"]["changes"]]
        assert (table, column, change) in changes
    if detection.dbt_warning:
        assert any(detection.dbt_warning in f["unique_id"] and f["status"] == "warn"
                   for f in manifest["dbt"]["failures"])
    if detection.snapshot_drift:
        assert (*detection.snapshot_drift, "snapshot") in [
            (c["schema"], c["table"], c["column"], c["change"], c["layer"])
            for c in manifest["schema_drift"]["changes"]]
    if detection.only_drift:
        assert manifest["contracts"]["failing"] == []
        assert manifest["dbt"]["failures"] == []

    if not detection.run_fails:  # the snapshot's ops tables carry the same findings
        with duckdb.connect(str(fault_home / "duckdb" / f"carton_caps_{run_id}.duckdb"),
                            read_only=True) as con:
            if detection.contract:
                layer, table, column, check, status = detection.contract
                rows = con.execute(
                    "select measured, threshold from ops.contract_results where layer = ? "
                    "and table_name = ? and check_name = ? and status = ?",
                    [layer, table, check, status]).fetchall()
                assert len(rows) == 1 and rows[0][0] is not None
            if detection.drift:
                table, column, change = detection.drift
                assert con.execute(
                    "select count(*) from ops.schema_drift where layer = 'source' "
                    "and table_name = ? and column_name = ? and change = ?",
                    [table, column, change]).fetchone()[0] == 1
            if detection.snapshot_drift:
                schema, table, column, _change = detection.snapshot_drift
                assert con.execute(
                    "select data_type from information_schema.columns where table_schema = ? "
                    "and table_name = ? and column_name = ?",
                    [schema, table, column]).fetchall() == [("VARCHAR",)]
                assert con.execute(
                    f'select count("{column}") from "{schema}"."{table}"').fetchone()[0] > 0
            if detection.dbt_warning:
                samples = con.execute(
                    "select count(*) from ops.dbt_test_failure_samples "
                    "where unique_id like ? and row_json is not null",
                    [f"%{detection.dbt_warning}%"]).fetchone()[0]
                assert samples >= 1


@pytest.mark.pipeline_run
@pytest.mark.parametrize("faults", [
    ("duplicate_keys", "late_events", "stale_export", "schema_drift_extra_column"),
    ("null_keys", "orphan_foreign_keys", "negative_amounts"),
], ids=["four_that_warn", "three_that_fail"])
def test_combined_faults_are_as_many_findings_as_root_causes(
        tmp_path: Path, faults: tuple[str, ...]) -> None:
    """Several faults at once, two on the same table: one finding each, however many
    contract checks, dbt tests and warnings report them."""
    expected = sorted(next(d.finding for d in DETECTIONS if d.fault == fault)
                      for fault in faults)
    exit_code = run_tiny(tmp_path, "combined", "--faults", ",".join(faults))
    manifest = _manifest(tmp_path, "combined")
    findings = manifest["health"]["findings"]
    assert exit_code == (1 if "null_keys" in faults else 0)
    assert sorted((f["category"], f["subject"].rsplit(".", 1)[-1]) for f in findings) == \
        expected, findings
    assert manifest["health"]["faults"] == list(faults)
    signals = sum(len(f["evidence"]) + len(f["consequences"]) for f in findings)
    assert signals > len(findings)  # many checks reported them; each cause is counted once
