"""The contract evaluator on hand-built snapshots, and the contracts' agreement with the
source-table declaration."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

import duckdb
from foundation import ops_tables
from foundation.source_tables import SOURCE_TABLES
from pipeline.checks import contracts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

RAW_CONTRACT = contracts.CONTRACTS_DIR / "raw.odcs.yaml"
LOGICAL = {"bigint": "integer", "integer": "integer", "text": "string", "double": "number",
           "boolean": "boolean", "timestamp": "timestamp", "json": "string"}
STAMPS = ["_ingested_at", "_run_id", "_source_file"]
OWNERS = {"Product", "Marketing", "Finance", "Engineering"}


@pytest.fixture
def raw_only(tmp_path: Path) -> Path:
    """A contracts folder holding only the raw contract (the hand-built DB has no marts)."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "raw.odcs.yaml").write_text(RAW_CONTRACT.read_text())
    return folder


def evaluate(db: Path, folder: Path) -> contracts.ContractReport:
    return contracts.evaluate(db, as_of=date(2026, 11, 1), days=540, contracts_dir=folder)


def find(report: contracts.ContractReport, table: str, check: str,
         column: str | None = None) -> contracts.ContractResult:
    matches = [r for r in report.results if r.table == table and r.check == check
               and (column is None or r.column == column)]
    assert len(matches) == 1, [(r.table, r.column, r.check) for r in report.results
                               if r.table == table]
    return matches[0]


def test_raw_contract_agrees_with_the_source_declaration() -> None:
    document = yaml.safe_load(RAW_CONTRACT.read_text())
    tables = {t["name"]: t for t in document["schema"]}
    assert list(tables) == [t.name for t in SOURCE_TABLES]
    for table in SOURCE_TABLES:
        props = tables[table.name]["properties"]
        assert [p["name"] for p in props] == [*table.raw_column_names, *STAMPS]
        for column, prop in zip(table.raw_columns, props, strict=False):
            assert prop["logicalType"] == LOGICAL[column.type], (table.name, column.name)
            assert prop["physicalType"] == column.duckdb_type, (table.name, column.name)
            assert bool(prop.get("required")) == (not column.nullable), (table.name, column.name)
            assert bool(prop.get("primaryKey")) == (column.name == table.primary_key)
            declared = {f"{fk.ref_table}.{fk.ref_column}" for fk in table.foreign_keys
                        if fk.column == column.name}
            assert {r["to"] for r in prop.get("relationships", [])} == declared


def test_every_contracted_table_has_owner_primary_key_min_rows_and_severity() -> None:
    for path in contracts.contract_files():
        document = contracts.load_contract(path)
        slas = {s["element"].split(".")[0] for s in document.get("slaProperties") or []}
        for table in document["schema"]:
            custom = {c["property"]: c["value"] for c in table["customProperties"]}
            assert custom["owner"] in OWNERS, (path.name, table["name"])
            assert custom["severity"] in contracts.SEVERITIES
            assert any(p.get("primaryKey") for p in table["properties"]), table["name"]
            assert any(q.get("metric") == "rowCount" for q in table.get("quality", []))
            if path.name == "raw.odcs.yaml":
                assert table["name"] in slas  # _ingested_at freshness at least


def test_clean_snapshot_passes_every_raw_check(raw_snapshot: Path, raw_only: Path) -> None:
    report = evaluate(raw_snapshot, raw_only)
    assert report.failing == ()
    assert report.summary()["pass"] == len(report.results) > 300
    assert {r.engine for r in report.results} == {"datacontract-cli", "sql"}


def test_each_defect_is_reported_with_table_column_figures_and_severity(
    raw_snapshot: Path, raw_only: Path
) -> None:
    with duckdb.connect(str(raw_snapshot)) as con:
        con.execute("insert into raw.receipts select * from raw.receipts where receipt_id <= 2")
        con.execute("update raw.app_events set event_id = null where event_id = 3")
        con.execute("update raw.rewards_ledger set user_id = 999 where entry_id = 4")
        con.execute("update raw.receipts set total_cents = -5 where receipt_id = 5")
        con.execute("update raw.app_events set event_time = timestamp '2026-11-02' "
                    "where event_id = 6")
        con.execute("update raw.app_events set event_time = timestamp '2025-01-01' "
                    "where event_id = 7")
        con.execute("update raw.rewards_ledger set created_at = created_at - interval 6 day")
        con.execute("delete from raw.receipt_items")
    report = evaluate(raw_snapshot, raw_only)

    unique = find(report, "receipts", "unique", "receipt_id")
    assert (unique.status, unique.severity, unique.measured, unique.threshold) == (
        "WARN", "warn", "2", "= 0")
    null_key = find(report, "app_events", "not_null", "event_id")
    assert (null_key.status, null_key.measured, null_key.owner) == ("FAIL", "1", "Engineering")
    orphan = find(report, "rewards_ledger", "foreign_key", "user_id")
    assert (orphan.status, orphan.measured) == ("FAIL", "1")
    negative = find(report, "receipts", "raw_receipts_total_cents_not_negative", "total_cents")
    assert (negative.status, negative.measured, negative.threshold) == ("FAIL", "1", "= 0")
    future = find(report, "app_events", "raw_app_events_no_future_rows", "event_time")
    assert (future.status, future.measured) == ("FAIL", "1")
    late = find(report, "app_events", "raw_app_events_no_rows_before_window", "event_time")
    assert (late.status, late.severity, late.measured) == ("WARN", "warn", "1")
    stale = find(report, "rewards_ledger", "raw_rewards_ledger_event_recency", "created_at")
    assert (stale.status, stale.measured, stale.threshold) == ("WARN", "156.00 h", "<= 96 h")
    assert stale.message == ("newest created_at is 2026-10-25 12:00:00 UTC, 156.0 h before the "
                             "as-of cut-off 2026-11-01 00:00:00 UTC (SLA 96 h)")
    empty = find(report, "receipt_items", "raw_receipt_items_min_rows")
    assert (empty.status, empty.measured, empty.threshold) == ("FAIL", "0", ">= 1")
    assert {(r.table, r.check) for r in report.blocking} >= {
        ("app_events", "not_null"), ("rewards_ledger", "foreign_key"),
        ("receipt_items", "raw_receipt_items_min_rows")}


def test_results_land_in_ops_contract_results(raw_snapshot: Path, raw_only: Path) -> None:
    with duckdb.connect(str(raw_snapshot)) as con:
        con.execute("delete from raw.receipt_items")
    report = evaluate(raw_snapshot, raw_only)
    with duckdb.connect(str(raw_snapshot)) as con:
        rows = contracts.ops_rows("r1", report)["contract_results"]
        assert ops_tables.replace_rows(con, "contract_results", rows) == len(report.results)
        row = con.execute(
            "select run_id, layer, table_name, check_name, owner, severity, status, measured, "
            "threshold from ops.contract_results where status = 'FAIL' "
            "and check_name = 'raw_receipt_items_min_rows'").fetchall()
    assert row == [("r1", "raw", "receipt_items", "raw_receipt_items_min_rows", "Engineering",
                    "fail", "FAIL", "0", ">= 1")]
    manifest = report.to_manifest()
    assert manifest["summary"]["fail"] == len(report.blocking) >= 1
    assert manifest["as_of_cutoff"] == "2026-11-01T00:00:00Z"


def test_a_missing_contracts_folder_is_a_clear_error(raw_snapshot: Path, tmp_path: Path) -> None:
    with pytest.raises(contracts.ContractError, match=r"^no contracts \(\*\.odcs\.yaml\) in "):
        evaluate(raw_snapshot, tmp_path / "nowhere")
