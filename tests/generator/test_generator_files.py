"""The files of a run: names, declared columns and types, formats, every table non-empty."""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path

import pytest
from generator_testkit import TINY, build, connect, scalar

from foundation.source_tables import APP_DB_TABLES, EVENT_EXPORT_TABLES, SOURCE_TABLES
from generator.data_generator import DEFAULT_DAYS, DEFAULT_USERS, generate_dataset
from generator.writers import create_table_sql

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tiny"))


def test_defaults_fit_a_one_minute_pipeline() -> None:
    assert 10_000 <= DEFAULT_USERS <= 30_000
    assert 500 <= DEFAULT_DAYS <= 560


def test_run_writes_exactly_the_declared_files(run: Path) -> None:
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["app.sqlite", *(t.file_name for t in EVENT_EXPORT_TABLES)])


def test_csv_headers_follow_the_declaration(run: Path) -> None:
    for spec in EVENT_EXPORT_TABLES:
        with (run / spec.file_name).open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert tuple(header) == spec.column_names, spec.name


def test_sqlite_tables_are_created_from_the_declaration(run: Path) -> None:
    con = sqlite3.connect(run / "app.sqlite")
    stored = dict(con.execute("select name, sql from sqlite_master where type = 'table'"))
    assert set(stored) == {t.name for t in APP_DB_TABLES}
    for spec in APP_DB_TABLES:
        assert stored[spec.name] == create_table_sql(spec)
        info = con.execute(f"pragma table_info('{spec.name}')").fetchall()
        assert [(r[1], r[2], bool(r[3]), bool(r[5])) for r in info] == [
            (c.name, c.sqlite_type, not c.nullable, c.name == spec.primary_key)
            for c in spec.columns]
        fks = {(r[3], r[2], r[4]) for r in con.execute(f"pragma foreign_key_list('{spec.name}')")}
        assert fks == {(fk.column, fk.ref_table, fk.ref_column) for fk in spec.foreign_keys}


def test_sqlite_values_have_the_declared_storage_class(run: Path) -> None:
    con = sqlite3.connect(run / "app.sqlite")
    expected = {"bigint": "integer", "integer": "integer", "text": "text", "double": "real",
                "boolean": "integer", "timestamp": "text", "json": "text"}
    for spec in APP_DB_TABLES:
        for column in spec.columns:
            kinds = {r[0] for r in con.execute(
                f'select distinct typeof("{column.name}") from "{spec.name}"')}
            allowed = {expected[column.type]} | ({"null"} if column.nullable else set())
            assert kinds <= allowed, (spec.name, column.name, kinds)


def test_sqlite_file_is_sound_and_its_foreign_keys_resolve(run: Path) -> None:
    con = sqlite3.connect(run / "app.sqlite")
    assert con.execute("pragma integrity_check").fetchall() == [("ok",)]
    assert con.execute("pragma foreign_key_check").fetchall() == []


def test_timestamps_are_iso_utc_with_z(run: Path) -> None:
    con = sqlite3.connect(run / "app.sqlite")
    for spec in APP_DB_TABLES:
        for column in (c for c in spec.columns if c.type == "timestamp"):
            for (value,) in con.execute(f'select "{column.name}" from "{spec.name}"'):
                assert value is None or ISO.match(value), (spec.name, column.name, value)
    for spec in EVENT_EXPORT_TABLES:
        with (run / spec.file_name).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for column in (c for c in spec.columns if c.type == "timestamp"):
            assert all(r[column.name] == "" or ISO.match(r[column.name]) for r in rows)


def test_booleans_in_csv_are_true_false(run: Path) -> None:
    with (run / "receipt_items.csv").open(encoding="utf-8", newline="") as handle:
        values = {r["is_qualifying"] for r in csv.DictReader(handle)}
    assert values == {"true", "false"}


def test_every_table_is_non_empty_and_counts_match(tmp_path: Path) -> None:
    counts = generate_dataset(tmp_path, TINY)
    assert set(counts) == {t.name for t in SOURCE_TABLES}
    con = connect(tmp_path)
    for spec in SOURCE_TABLES:
        rows = scalar(con, f"select count(*) from {spec.name}")
        assert rows == counts[spec.name] > 0, spec.name


def test_tiny_run_covers_every_story(run: Path) -> None:
    con = connect(run)
    statuses = {r[0] for r in con.execute("select distinct status from referrals").fetchall()}
    assert {"sent", "clicked", "qualified", "rejected"} <= statuses
    reasons = {r[0] for r in con.execute(
        "select distinct rejection_reason from referrals where status = 'rejected'").fetchall()}
    assert len(reasons) >= 2
    entry_types = {r[0] for r in con.execute(
        "select distinct entry_type from rewards_ledger").fetchall()}
    assert {"earn_purchase", "earn_referral_bonus", "earn_welcome_bonus", "redeem",
            "expire"} <= entry_types
    assert scalar(con, "select count(*) from receipts where status = 'rejected'") > 0
    assert scalar(con, "select count(*) from redemptions") > 0
    events = {r[0] for r in con.execute("select distinct event_name from app_events").fetchall()}
    assert events == {"app_install", "app_open", "sign_up", "school_linked", "receipt_scan",
                      "referral_share", "rewards_view", "redemption_request"}


def test_properties_are_json_objects(run: Path) -> None:
    con = connect(run)
    assert scalar(con, """
        select count(*) from app_events
        where properties is not null and json_type(properties::json) <> 'OBJECT'""") == 0
    assert scalar(con, """
        select count(*) from app_events e join receipts r
          on r.receipt_id = (e.properties::json->>'receipt_id')::bigint
        where e.event_name = 'receipt_scan'""") == scalar(
        con, "select count(*) from receipts")


def test_ids_are_unique_and_codes_stable(run: Path) -> None:
    con = connect(run)
    for spec in SOURCE_TABLES:
        pk = spec.primary_key
        assert scalar(con, f"select count(*) - count(distinct {pk}) from {spec.name}") == 0
    assert scalar(con, "select count(distinct referral_code) from users") == TINY.users
    assert scalar(con, "select count(distinct upc) from products") == scalar(
        con, "select count(*) from products")
    assert scalar(con, """
        select count(*) from referrals r join users u on u.user_id = r.referrer_user_id
        where r.referral_code <> u.referral_code""") == 0
