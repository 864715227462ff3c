"""Legitimate variants of the source files load correctly; extra columns are loaded
as text and recorded as drift."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

import duckdb
from foundation.source_tables import APP_DB_FILE, EVENT_EXPORT_TABLES, RECEIPTS
from tests.loader.helpers import PII_KEY, RUN_ID, table_rows, write_csv


def _receipts(db_path: Path) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            "select receipt_id, user_id, store_name, scanned_at, status, ocr_confidence "
            "from raw.receipts order by receipt_id"
        ).fetchall()


def _reference(loader, tmp_path: Path, dataset: Path) -> list[tuple]:
    """The receipts as loaded from the plain LF, declared-order file."""
    reference_db = tmp_path / "reference.duckdb"
    loader.load_raw(dataset, reference_db, RUN_ID, pii_key=PII_KEY)
    return _receipts(reference_db)


@pytest.mark.parametrize(("newline", "bom"), [("\r\n", False), ("\n", True), ("\r\n", True)])
def test_crlf_and_bom_load_the_same_rows(loader, dataset, db_path, tmp_path, newline, bom):
    expected = _reference(loader, tmp_path, dataset)
    write_csv(dataset / "receipts.csv", RECEIPTS.column_names, table_rows(RECEIPTS),
              newline=newline, bom=bom)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert _receipts(db_path) == expected
    assert report.rows_rejected == 0


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_quoted_fields_with_commas_quotes_and_newlines_load_verbatim(
    loader, dataset, db_path, newline
):
    rows = table_rows(RECEIPTS)
    store = RECEIPTS.column_names.index("store_name")
    rows[0][store] = 'Trader Joe\'s, "Main St"\nAisle 5'
    rows[1][store] = "Costco, Inc."
    write_csv(dataset / "receipts.csv", RECEIPTS.column_names, rows, newline=newline)
    loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    stores = [row[2] for row in _receipts(db_path)]
    assert stores == ['Trader Joe\'s, "Main St"\nAisle 5', "Costco, Inc.", "store_name 2"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_header_only_file_loads_zero_rows_with_a_warning(loader, dataset, db_path, newline):
    write_csv(dataset / "receipts.csv", RECEIPTS.column_names, [], newline=newline)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    receipts = next(t for t in report.tables if t.table == "receipts")
    assert (receipts.rows_loaded, receipts.rows_rejected, receipts.status) == (0, 0, "warn")
    assert report.warnings == ("receipts.csv: no rows (receipts is empty)",)
    assert _receipts(db_path) == []


def test_columns_in_a_different_order_are_matched_by_name(
    loader, dataset, db_path, tmp_path
):
    expected = _reference(loader, tmp_path, dataset)
    order = list(reversed(range(len(RECEIPTS.columns))))
    header = [RECEIPTS.column_names[i] for i in order]
    rows = [[row[i] for i in order] for row in table_rows(RECEIPTS)]
    write_csv(dataset / "receipts.csv", header, rows)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert _receipts(db_path) == expected
    assert report.schema_drift == ()
    assert report.warnings == ()


LOADED = "column not in the declaration; loaded into raw as VARCHAR"
STAMPS = ["_ingested_at", "_run_id", "_source_file"]


def _columns(db_path: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return [(r[0], r[1]) for r in con.execute(f"describe raw.{table}").fetchall()]


def test_extra_csv_column_is_loaded_as_text_after_the_stamps_and_recorded_as_drift(
    loader, dataset, db_path, tmp_path
):
    expected = _reference(loader, tmp_path, dataset)
    header = ["coupon_code", *RECEIPTS.column_names]
    rows = [[f"C{i}", *row] for i, row in enumerate(table_rows(RECEIPTS))]
    write_csv(dataset / "receipts.csv", header, rows)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)

    assert _receipts(db_path) == expected
    drift = {
        "table_name": "receipts",
        "source_file": "receipts.csv",
        "column_name": "coupon_code",
        "change": "added",
        "detail": LOADED,
    }
    assert report.schema_drift == (drift,)
    assert report.warnings == (
        f"receipts.csv: schema drift in receipts: column 'coupon_code' added ({LOADED})",
    )
    receipts = next(t for t in report.tables if t.table == "receipts")
    assert receipts.status == "warn"
    assert [name for name, _ in _columns(db_path, "receipts")] == [
        *RECEIPTS.column_names, *STAMPS, "coupon_code"]
    assert _columns(db_path, "receipts")[-1] == ("coupon_code", "VARCHAR")
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select * from ops.source_schema_drift").fetchall() == [
            (RUN_ID, "receipts", "receipts.csv", "coupon_code", "added", LOADED)
        ]
        assert con.execute(
            "select receipt_id, coupon_code from raw.receipts order by receipt_id"
        ).fetchall() == [(1, "C0"), (2, "C1"), (3, "C2")]


def test_extra_column_with_a_hostile_name_is_loaded_under_that_exact_name(
    loader, dataset, db_path
):
    name = 'x"); drop table raw.users; --'
    header = [*RECEIPTS.column_names, name]
    rows = [[*row, "1"] for row in table_rows(RECEIPTS)]
    write_csv(dataset / "receipts.csv", header, rows)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert [d["column_name"] for d in report.schema_drift] == [name]
    assert _columns(db_path, "receipts")[-1] == (name, "VARCHAR")
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.users").fetchone() == (3,)
        assert con.execute('select distinct "x""); drop table raw.users; --" '
                           "from raw.receipts").fetchall() == [("1",)]


def test_extra_columns_whose_names_clash_are_drift_but_not_loaded(loader, dataset, db_path):
    """DuckDB compares names case-insensitively: 'Status' would collide with 'status'."""
    header = [*RECEIPTS.column_names, "Status", "_INGESTED_AT", "note", "NOTE"]
    rows = [[*row, "s", "i", "n", "N"] for row in table_rows(RECEIPTS)]
    write_csv(dataset / "receipts.csv", header, rows)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert [(d["column_name"], d["detail"]) for d in report.schema_drift] == [
        ("Status", "column not in the declaration; not loaded into raw (its name clashes "
                   "with column 'status')"),
        ("_INGESTED_AT", "column not in the declaration; not loaded into raw (its name "
                         "clashes with column '_ingested_at')"),
        ("note", LOADED),
        ("NOTE", "column not in the declaration; not loaded into raw (its name clashes "
                 "with column 'note')"),
    ]
    assert [name for name, _ in _columns(db_path, "receipts")] == [
        *RECEIPTS.column_names, *STAMPS, "note"]
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute(
            "select status, note from raw.receipts order by receipt_id").fetchall() == [
            ("status 0", "n"), ("status 1", "n"), ("status 2", "n")]


def test_extra_and_retyped_sqlite_columns_are_recorded_as_drift(loader, dataset, db_path):
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("alter table schools add column district text")
        con.execute("create table products_new as select * from products")
        con.execute("drop table products")
        con.execute(
            "create table products (product_id INTEGER, upc INTEGER, brand TEXT, name TEXT, "
            "category TEXT, unit_price_cents INTEGER, caps_per_unit INTEGER, "
            "is_qualifying INTEGER)"
        )
        con.execute("insert into products select * from products_new")
        con.execute("drop table products_new")
        con.execute("update schools set district = 'North ' || school_id")
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert [(d["table_name"], d["column_name"], d["change"]) for d in report.schema_drift] == [
        ("schools", "district", "added"),
        ("products", "upc", "type_changed"),
    ]
    assert report.schema_drift[0]["detail"] == LOADED
    assert report.schema_drift[1]["detail"] == (
        "declared TEXT, found INTEGER in app.sqlite; values are still loaded as VARCHAR"
    )
    assert report.rows_rejected == 0
    assert _columns(db_path, "schools")[-4:] == [
        ("_ingested_at", "TIMESTAMP"), ("_run_id", "VARCHAR"), ("_source_file", "VARCHAR"),
        ("district", "VARCHAR")]
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select school_id, district from raw.schools order by 1").fetchall() \
            == [(1, "North 1"), (2, "North 2"), (3, "North 3")]


def test_every_event_export_is_read_from_its_declared_file(loader, dataset, db_path):
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    files = {t.table: t.source_file for t in report.tables}
    assert {t.name: files[t.name] for t in EVENT_EXPORT_TABLES} == {
        t.name: f"{t.name}.csv" for t in EVENT_EXPORT_TABLES
    }


def test_csv_timestamps_are_loaded_as_naive_utc(loader, dataset, db_path):
    loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert _receipts(db_path)[0][3] == datetime(2025, 9, 1, 14, 3, 0)
