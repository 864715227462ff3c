"""PII never lands: hashed or dropped as it is read, in raw rows and rejected rows alike."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import sqlite3
from pathlib import Path

import pytest

import duckdb
from foundation import pii
from foundation.source_tables import APP_DB_FILE, EVENT_EXPORT_TABLES, RECEIPTS, USERS
from tests.loader.helpers import PII_KEY, RUN_ID, table_rows, write_csv

PLAINTEXT = ("email 1", "first_name 1", "last_name 1", "phone 1")


def _hmac(value: str, key: str = PII_KEY) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _users(db_path: Path) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute("select * from raw.users order by user_id")
        return [d[0] for d in rows.description], rows.fetchall()


def test_raw_users_holds_keyed_hashes_of_email_and_phone_and_no_names(
        loader, dataset, db_path) -> None:
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("update users set email = '  Jane.Doe@Example.COM ', phone = null "
                    "where user_id = 1")
    loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    columns, rows = _users(db_path)
    assert columns[:4] == ["user_id", "email_hash", "phone_hash", "state"]
    assert columns[:-3] == list(USERS.raw_column_names)
    assert not {"email", "phone", "first_name", "last_name"} & set(columns)
    hashes = {row[0]: (row[1], row[2]) for row in rows}
    assert hashes[1] == (_hmac("jane.doe@example.com"), None)  # normalised, nulls stay null
    assert hashes[2] == (_hmac("email 1"), _hmac("phone 1"))
    assert hashes[2][0] != hashlib.sha256(b"email 1").hexdigest()  # keyed, not a bare hash
    other = db_path.with_name("other.duckdb")
    loader.load_raw(dataset, other, RUN_ID, pii_key="another-key")
    assert _users(other)[1][1][1] == _hmac("email 1", key="another-key") != hashes[2][0]


def test_no_plaintext_pii_reaches_the_database_file(loader, dataset, db_path) -> None:
    loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    with duckdb.connect(str(db_path), read_only=True) as con:
        text = json.dumps(con.execute(
            "select list(u) from raw.users as u").fetchone()[0], default=str)
    content = db_path.read_bytes()
    for value in PLAINTEXT:
        assert value not in text
        assert value.encode() not in content


def test_a_rejected_users_row_is_recorded_masked_like_raw(loader, dataset, db_path) -> None:
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("update users set installed_at = 'soon' where user_id = 2")
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, max_reject_share=1.0)
    assert report.rows_rejected == 1
    with duckdb.connect(str(db_path), read_only=True) as con:
        reason, raw_text = con.execute(
            "select reason, raw_text from raw._rejects where table_name = 'users'").fetchone()
    assert reason == "could not convert 'soon' to TIMESTAMP"
    record = json.loads(raw_text)
    assert list(record) == list(USERS.raw_column_names)
    assert (record["email_hash"], record["phone_hash"]) == (_hmac("email 1"), _hmac("phone 1"))
    assert not any(value in raw_text for value in PLAINTEXT)


def test_a_failed_loads_rejects_sample_is_masked_too(loader, dataset, db_path) -> None:
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("update users set is_verified = 'yes' where user_id = 2")
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    [sample] = err.value.rejects
    assert json.loads(sample["raw_text"])["email_hash"] == _hmac("email 1")
    assert not any(value in json.dumps(sample) for value in PLAINTEXT)


def test_an_undeclared_column_of_a_pii_table_is_not_loaded(loader, dataset, db_path) -> None:
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("alter table users add column home_address text")
        con.execute("update users set home_address = '1 Main St'")
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert [(d["table_name"], d["column_name"], d["detail"]) for d in report.schema_drift] == [
        ("users", "home_address", "column not in the declaration; not loaded into raw (users "
         "holds PII: declare the column, with its masking, to load it)")]
    assert "home_address" not in _users(db_path)[0]


def test_a_rejected_line_of_a_csv_table_with_pii_keeps_no_text(
        loader, dataset, db_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism is per declaration, not per table name: a CSV export with a PII column
    is hashed as it streams in, and a line that cannot be parsed is recorded without text."""
    store = dataclasses.replace(RECEIPTS.column("store_name"), pii="hash")
    receipts = dataclasses.replace(RECEIPTS, columns=tuple(
        store if c.name == "store_name" else c for c in RECEIPTS.columns))
    monkeypatch.setattr(loader.transaction, "EVENT_EXPORT_TABLES", tuple(
        receipts if t is RECEIPTS else t for t in EVENT_EXPORT_TABLES))
    rows = table_rows(RECEIPTS, 200)
    rows[5] = [*rows[5], "extra field"]
    write_csv(dataset / "receipts.csv", RECEIPTS.column_names, rows)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert report.rows_rejected == 1
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select reason, raw_text from raw._rejects").fetchall() == [
            ("expected 10 fields, found 11", None)]
        stores = con.execute("select store_name_hash from raw.receipts where receipt_id = 1"
                             ).fetchall()
    assert stores == [(_hmac("store_name 0"),)]


@pytest.mark.parametrize("key", [
    "k",
    "k" * 64,  # exactly one SHA-256 block: padded with nothing
    "k" * 65,  # longer than a block: hashed first, as RFC 2104 says
    "é" * 32,  # 32 characters, exactly one block of bytes
    "é" * 33,  # 33 characters, longer than a block in bytes only
    "clé secrète ü " * 8,  # non-ASCII, longer than a block once encoded
])
def test_the_sql_hash_is_hmac_sha256_of_the_normalised_value_under_any_key(key: str) -> None:
    values = ["  Jane.Doe@Example.COM ", "émile@école.fr", "+1 555 0100", "   ", None]
    with duckdb.connect() as con:
        hashed = con.execute(
            f"select {pii.hash_sql('v')} from (select unnest($values) as v, "
            "generate_subscripts($values, 1) as i) order by i",
            {**pii.KeyedHash.from_key(key).parameters(), "values": values},
        ).fetchall()
    expected = [_hmac(v.strip().lower(), key=key) if v is not None else None for v in values]
    assert [row[0] for row in hashed] == expected


def test_an_empty_key_is_refused_before_anything_is_hashed() -> None:
    with pytest.raises(pii.MissingKeyError, match="no PII key: the loader hashes PII"):
        pii.KeyedHash.from_key("")


def _secrets() -> tuple[bytes, ...]:
    """The key and the two pads derived from it: each gives the key away."""
    keyed_hash = pii.KeyedHash.from_key(PII_KEY)
    return PII_KEY.encode(), keyed_hash.inner_pad, keyed_hash.outer_pad


def test_neither_the_key_nor_its_pads_reach_the_database_file_or_a_repr(
        loader, dataset, db_path) -> None:
    loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    content = db_path.read_bytes()
    assert not db_path.with_name(db_path.name + ".wal").exists()
    assert not any(secret in content for secret in _secrets())
    assert repr(pii.KeyedHash.from_key(PII_KEY)) == "KeyedHash()"


def test_a_failed_loads_error_and_log_hold_neither_the_key_nor_its_pads(
        loader, dataset, db_path, caplog: pytest.LogCaptureFixture) -> None:
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("update users set is_verified = 'yes' where user_id = 2")
    with caplog.at_level("DEBUG"), pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    said = "\n".join([str(err.value), json.dumps(err.value.rejects), caplog.text]).encode()
    assert b"could not convert 'yes' to BOOLEAN" in said
    assert not any(secret in said or secret.hex().encode() in said for secret in _secrets())
    assert not db_path.exists()


def test_a_duckdb_setting_that_could_record_a_plan_is_refused_before_any_file(
        loader, dataset, db_path) -> None:
    """DuckDB folds the bound pads into each statement's plan: a profile would show them."""
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY,
                        duckdb_config={"memory_limit": "1GB", "enable_profiling": "json"})
    assert str(err.value) == ("DuckDB setting 'enable_profiling' is not one the loader takes "
                              "(max_temp_directory_size, memory_limit, temp_directory, "
                              "threads)")
    assert not db_path.exists()
