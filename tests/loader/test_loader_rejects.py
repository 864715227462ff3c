"""Malformed rows land in raw._rejects; too many of them fail the load."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import duckdb
from foundation.source_tables import APP_DB_FILE, APP_EVENTS
from tests.loader.helpers import PII_KEY, RUN_ID, table_rows, write_csv

N_ROWS = 200


def _events_file(dataset: Path) -> Path:
    """app_events.csv with 200 valid rows; returns its path."""
    return write_csv(dataset / "app_events.csv", APP_EVENTS.column_names,
                     table_rows(APP_EVENTS, N_ROWS))


def _replace_line(path: Path, line_number: int, new: bytes) -> bytes:
    """Replace physical line ``line_number`` (1 = header) of ``path``; return the old one."""
    lines = path.read_bytes().split(b"\n")
    old = lines[line_number - 1]
    lines[line_number - 1] = new
    path.write_bytes(b"\n".join(lines))
    return old


def _rejects(db_path: Path) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            "select run_id, table_name, source_file, line, column_name, error_type, reason, "
            "raw_text from raw._rejects order by table_name, line"
        ).fetchall()


def _bad_events(dataset: Path) -> dict[int, bytes]:
    """Four malformed lines of different kinds in app_events.csv (line -> text)."""
    path = _events_file(dataset)
    good = _replace_line(path, 5, b"")  # peek at a valid line to build variants from
    _replace_line(path, 5, good)
    fields = good.split(b",")
    bad = {
        5: b",".join([fields[0], fields[1], fields[2], fields[3], fields[4], b"yesterday",
                      *fields[6:]]),
        9: good + b",surplus",
        13: b"13,13,device_id 12",
        17: good.replace(b"device_id", b"dev\xff\xfeice"),
    }
    for line, text in bad.items():
        _replace_line(path, line, text)
    return bad


def test_malformed_rows_within_the_threshold_are_loaded_around_and_stored(
    loader, dataset, db_path
):
    bad = _bad_events(dataset)
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, max_reject_share=0.05)

    events = next(t for t in report.tables if t.table == "app_events")
    assert (events.rows_loaded, events.rows_rejected, events.status) == (N_ROWS - 4, 4, "warn")
    warning = (
        "app_events.csv: 4 of 200 rows rejected (2.00 %) within the 5.00 % threshold; "
        "first: line 5 column event_time: could not convert 'yesterday' to TIMESTAMP"
    )
    assert report.warnings == (warning,)
    assert events.message == warning
    rejects = _rejects(db_path)
    assert [r[:7] for r in rejects] == [
        (RUN_ID, "app_events", "app_events.csv", 5, "event_time", "CAST",
         "could not convert 'yesterday' to TIMESTAMP"),
        (RUN_ID, "app_events", "app_events.csv", 9, None, "TOO MANY COLUMNS",
         "expected 9 fields, found 10"),
        (RUN_ID, "app_events", "app_events.csv", 13, None, "MISSING COLUMNS",
         "expected 9 fields, found 3"),
        (RUN_ID, "app_events", "app_events.csv", 17, "device_id", "INVALID ENCODING",
         "invalid UTF-8 byte sequence"),
    ]
    assert rejects[0][7] == bad[5].decode()
    assert rejects[1][7] == bad[9].decode()
    assert rejects[2][7] == bad[13].decode()
    with duckdb.connect(str(db_path), read_only=True) as con:
        loaded = con.execute("select count(*), count(distinct event_id) from raw.app_events")
        assert loaded.fetchone() == (N_ROWS - 4, N_ROWS - 4)
        assert con.execute(
            "select rows_loaded, rows_rejected, status from ops.ingestion_log "
            "where table_name = 'app_events'"
        ).fetchone() == (N_ROWS - 4, 4, "warn")


def test_rejected_share_above_the_default_threshold_fails_the_load(loader, dataset, db_path):
    _bad_events(dataset)
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert str(err.value) == (
        "app_events.csv: 4 of 200 rows rejected (2.00 %) exceeds the 1.00 % threshold; "
        "first: line 5 column event_time: could not convert 'yesterday' to TIMESTAMP"
    )
    assert err.value.table == "app_events"
    assert not db_path.exists()
    # the rolled-back rejects travel on the error for the pipeline's manifest
    assert [(r["line"], r["column_name"], r["error_type"], r["reason"])
            for r in err.value.rejects] == [
        (5, "event_time", "CAST", "could not convert 'yesterday' to TIMESTAMP"),
        (9, None, "TOO MANY COLUMNS", "expected 9 fields, found 10"),
        (13, None, "MISSING COLUMNS", "expected 9 fields, found 3"),
        (17, "device_id", "INVALID ENCODING", "invalid UTF-8 byte sequence"),
    ]
    assert {(r["table_name"], r["source_file"]) for r in err.value.rejects} == {
        ("app_events", "app_events.csv")}
    assert err.value.rejects[2]["raw_text"] == "13,13,device_id 12"


def test_a_failed_load_carries_at_most_20_rejects_with_bounded_text(loader, dataset, db_path):
    path = _events_file(dataset)
    lines = path.read_bytes().split(b"\n")
    long_tail = b"x" * 5000
    for number in range(2, 32):  # 30 rows with a bad event_time, one of them very long
        fields = lines[number - 1].split(b",")
        fields[5] = b"never" + (long_tail if number == 2 else b"")
        lines[number - 1] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert str(err.value).startswith("app_events.csv: 30 of 200 rows rejected (15.00 %) ")
    assert loader.REJECTS_SAMPLE == 20
    assert [r["line"] for r in err.value.rejects] == list(range(2, 22))
    assert len(err.value.rejects[0]["raw_text"]) == loader.MAX_SAMPLE_TEXT
    assert err.value.rejects[1]["raw_text"] == lines[2].decode()


def test_load_errors_without_rejected_rows_carry_an_empty_sample(loader, dataset, db_path):
    (dataset / "receipts.csv").unlink()
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert err.value.rejects == ()


def test_one_reject_in_200_rows_is_within_the_default_threshold(loader, dataset, db_path):
    path = _events_file(dataset)
    _replace_line(path, 101, b"100,100,d,s,app_open,not a time,ios,1.0.0,")
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    events = next(t for t in report.tables if t.table == "app_events")
    assert (events.rows_loaded, events.rows_rejected) == (199, 1)
    assert _rejects(db_path)[0][3:7] == (
        101, "event_time", "CAST", "could not convert 'not a time' to TIMESTAMP"
    )


def test_unterminated_quote_rejects_the_row_and_everything_after_it(loader, dataset, db_path):
    """An open quote swallows the rest of the file into one field: one rejected row."""
    path = _events_file(dataset)
    _replace_line(path, N_ROWS + 1, b'200,200,d,s,app_open,2025-09-01T00:00:00Z,ios,1.0,"{open')
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, max_reject_share=0.01)
    events = next(t for t in report.tables if t.table == "app_events")
    assert (events.rows_loaded, events.rows_rejected) == (N_ROWS - 1, 1)
    assert _rejects(db_path)[0][3:7] == (
        N_ROWS + 1, "properties", "UNQUOTED VALUE", "unterminated quoted field"
    )


def test_unterminated_quote_early_in_the_file_fails_the_load(loader, dataset, db_path):
    """With no later quote to close it, the open quote swallows the rest of the file."""
    rows = [[*row[:-1], ""] for row in table_rows(APP_EVENTS, N_ROWS)]  # no quoted JSON
    path = write_csv(dataset / "app_events.csv", APP_EVENTS.column_names, rows)
    _replace_line(path, 3, b'2,2,d,s,app_open,2025-09-01T00:00:00Z,ios,1.0,"{open')
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert str(err.value) == (
        "app_events.csv: 1 of 2 rows rejected (50.00 %) exceeds the 1.00 % threshold; "
        "first: line 3 column properties: unterminated quoted field"
    )
    assert not db_path.exists()


def test_unterminated_quote_closed_by_a_later_quote_merges_two_lines_into_one_reject(
    loader, dataset, db_path
):
    """DuckDB resynchronises at the next quote: the broken line and the one after it
    become one malformed record (one reject), so 198 + 1 of the 200 rows are accounted."""
    path = _events_file(dataset)
    _replace_line(path, 3, b'2,2,d,s,app_open,2025-09-01T00:00:00Z,ios,1.0,"{open')
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    events = next(t for t in report.tables if t.table == "app_events")
    assert (events.rows_loaded, events.rows_rejected) == (N_ROWS - 2, 1)
    assert _rejects(db_path)[0][3:7] == (
        3, "properties", "UNQUOTED VALUE", "unterminated quoted field"
    )
    with duckdb.connect(str(db_path), read_only=True) as con:
        missing = con.execute(
            "select list(i order by i) from range(1, 201) t(i) "
            "where i not in (select event_id from raw.app_events)"
        ).fetchone()[0]
    assert missing == [2, 3]


def test_zero_threshold_fails_on_a_single_reject(loader, dataset, db_path):
    path = _events_file(dataset)
    _replace_line(path, 2, b"0,0,d,s,app_open,2025-09-01T00:00:00Z,ios,1.0,,extra")
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, max_reject_share=0.0)
    assert str(err.value) == (
        "app_events.csv: 1 of 200 rows rejected (0.50 %) exceeds the 0.00 % threshold; "
        "first: line 2: expected 9 fields, found 10"
    )


def test_sqlite_values_of_the_wrong_type_are_rejected_with_their_rowid(
    loader, dataset, db_path
):
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("update users set installed_at = 'soon' where user_id = 2")
        con.execute("update users set is_verified = 'yes' where user_id = 3")
        con.execute("update products set unit_price_cents = 1.5 where product_id = 1")
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, max_reject_share=1.0)
    by_table = {t.table: t for t in report.tables}
    assert (by_table["users"].rows_loaded, by_table["users"].rows_rejected) == (1, 2)
    assert (by_table["products"].rows_loaded, by_table["products"].rows_rejected) == (2, 1)
    rejects = _rejects(db_path)
    assert [r[1:7] for r in rejects] == [
        ("products", "app.sqlite", 1, "unit_price_cents", "CAST",
         "could not convert '1.5' to INTEGER"),
        ("users", "app.sqlite", 2, "installed_at", "CAST",
         "could not convert 'soon' to TIMESTAMP"),
        ("users", "app.sqlite", 3, "is_verified", "CAST",
         "could not convert 'yes' to BOOLEAN"),
    ]
    assert '"installed_at":"soon"' in rejects[1][7]


def test_the_preflight_counts_the_sqlite_rows_the_load_then_accounts_for(
    loader, dataset, db_path
):
    """The load compares its inserted rows with the preflight's count to know whether any
    was rejected (and only then reads the table again to list them)."""
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("update users set installed_at = 'soon' where user_id = 2")
    counted = loader.plan.plan_sqlite(loader.sources.LocalSourceFiles(dataset)).rows
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, max_reject_share=1.0)
    assert counted == {t.table: t.rows_loaded + t.rows_rejected for t in report.tables
                       if t.source_system == "app_db"}
    assert counted["users"] == 3
    assert [r[1:4] for r in _rejects(db_path)] == [("users", "app.sqlite", 2)]


def test_sqlite_rejects_above_the_threshold_fail_naming_the_table(loader, dataset, db_path):
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("update schools set enrollment = 'many' where school_id = 1")
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert str(err.value) == (
        "app.sqlite table schools: 1 of 3 rows rejected (33.33 %) exceeds the 1.00 % "
        "threshold; first: line 1 column enrollment: could not convert 'many' to INTEGER"
    )
    assert not db_path.exists()
    assert [(r["table_name"], r["source_file"], r["line"], r["column_name"])
            for r in err.value.rejects] == [("schools", "app.sqlite", 1, "enrollment")]


def test_sqlite_timestamps_with_offsets_are_converted_to_utc(loader, dataset, db_path):
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute(
            "update schools set created_at = '2025-09-01T16:03:00+02:00' where school_id = 1"
        )
    loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    with duckdb.connect(str(db_path), read_only=True) as con:
        value = con.execute("select created_at from raw.schools where school_id = 1").fetchone()
    assert str(value[0]) == "2025-09-01 14:03:00"


def test_nulls_in_required_columns_are_loaded_for_the_contracts_to_flag(
    loader, dataset, db_path
):
    """No business logic in raw: a null key is data, not a malformed row."""
    path = _events_file(dataset)
    _replace_line(path, 2, b",,d,s,app_open,2025-09-01T00:00:00Z,ios,1.0,")
    report = loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY)
    assert report.rows_rejected == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute(
            "select count(*) from raw.app_events where event_id is null"
        ).fetchone() == (1,)
