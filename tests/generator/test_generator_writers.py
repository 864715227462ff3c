"""The SQLite writer on its own: stored values, and nothing left behind when it fails."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pytest

from foundation.source_tables import APP_DB_FILE, PRODUCTS, RECEIPTS, USERS
from generator.data_generator import _BackgroundWriters
from generator.writers import CsvExport, SqliteWriter, csv_schema


def _products(ids: list[int]) -> pa.Table:
    n = len(ids)
    return pa.table({
        "product_id": pa.array(ids, pa.int64()),
        "upc": [f"0000000000{i:02d}" for i in ids],
        "brand": ["Brand"] * n,
        "name": ["Cereal \u00e9 \"quoted\", comma"] * n,
        "category": ["cereal"] * n,
        "unit_price_cents": pa.array([399] * n, pa.int64()),
        "caps_per_unit": pa.array([5] * n, pa.int64()),
        "is_qualifying": pa.array([i % 2 == 0 for i in ids]),
    })


def _files(out_dir: Path) -> list[str]:
    return sorted(path.name for path in out_dir.iterdir())


def test_values_nulls_and_booleans_are_stored_with_their_storage_class(tmp_path: Path) -> None:
    users = pa.table({  # nullable columns null, the others a placeholder text
        column.name: pa.nulls(2, pa.int64()) if column.type == "bigint"
        else pa.nulls(2, pa.string()) if column.nullable else pa.array(["x", "x"])
        for column in USERS.columns})
    users = users.set_column(0, "user_id", pa.array([1, 2], pa.int64()))
    users = users.set_column(USERS.column_names.index("is_verified"), "is_verified",
                             pa.array([True, False]))
    with SqliteWriter(tmp_path) as writer:
        writer.insert(PRODUCTS, _products([1, 2]))
        writer.insert(USERS, users)
    assert _files(tmp_path) == [APP_DB_FILE]
    con = sqlite3.connect(tmp_path / APP_DB_FILE)
    products = "select product_id, name, is_qualifying, typeof(is_qualifying) from products"
    assert con.execute(products).fetchall() == [
        (1, 'Cereal \u00e9 "quoted", comma', 0, "integer"),
        (2, 'Cereal \u00e9 "quoted", comma', 1, "integer")]
    assert con.execute(
        "select user_id, is_verified, typeof(email), typeof(school_id) from users").fetchall() == [
        (1, 1, "null", "null"), (2, 0, "null", "null")]


def test_a_failed_insert_leaves_no_database_behind(tmp_path: Path) -> None:
    with (pytest.raises(adbc_sqlite.Error, match=r"UNIQUE constraint failed: products\.product_id"),
          SqliteWriter(tmp_path) as writer):
        writer.insert(PRODUCTS, _products([1, 2]))
        writer.insert(PRODUCTS, _products([2, 3]))
    assert _files(tmp_path) == []


def test_columns_out_of_declared_order_are_refused(tmp_path: Path) -> None:
    table = _products([1])
    swapped = table.select(["upc", "product_id", *table.column_names[2:]])
    with (pytest.raises(ValueError, match=r"^products: columns \['upc', 'product_id'"),
          SqliteWriter(tmp_path) as writer):
        writer.insert(PRODUCTS, swapped)
    assert _files(tmp_path) == []


def test_an_unusable_location_fails_with_the_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(NotADirectoryError):
        SqliteWriter(blocker)
    assert _files(tmp_path) == ["file"]


class _Interrupted(Exception):
    pass


def _interrupt(_signum: int, _frame: object) -> None:
    raise _Interrupted


def test_an_interrupt_while_waiting_for_a_write_aborts_the_file_after_the_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    write, abort = CsvExport.write, CsvExport.abort

    def slow_write(self: CsvExport, table: pa.Table) -> None:
        time.sleep(0.5)
        write(self, table)
        events.append(f"wrote {self.spec.name}")

    def recorded_abort(self: CsvExport) -> None:
        events.append(f"abort {self.spec.name}")
        abort(self)

    monkeypatch.setattr(CsvExport, "write", slow_write)
    monkeypatch.setattr(CsvExport, "abort", recorded_abort)
    previous = signal.signal(signal.SIGUSR1, _interrupt)
    writers = _BackgroundWriters(tmp_path, max_pending=0)
    try:
        timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1))
        timer.start()
        with pytest.raises(_Interrupted):  # lands while csv() waits for the slow write
            writers.csv(RECEIPTS, csv_schema(RECEIPTS).empty_table())
        timer.join()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        writers.abort()
    assert events[0] == "wrote receipts"  # no file was closed under a running write
    assert "abort receipts" in events
    assert _files(tmp_path) == []
    writers.abort()  # a second abort changes nothing
    assert _files(tmp_path) == []
