"""Bad input fails with one exact message and never leaves a half-written snapshot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import duckdb
from foundation.cli_values import quoted
from foundation.source_tables import APP_DB_FILE, RECEIPTS, USERS
from tests.loader.helpers import PII_KEY, RUN_ID, table_rows, write_csv


def _state(db_path: Path) -> list[tuple] | None:
    """Every table of the file with its row count; None when the file does not exist."""
    if not db_path.exists():
        return None
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        return [
            (schema, name, con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])
            for schema, name in tables
        ]


def _existing_db(db_path: Path) -> list[tuple]:
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema ops")
        con.execute("create table ops.pipeline_runs (run_id varchar)")
        con.execute("insert into ops.pipeline_runs values ('earlier')")
    state = _state(db_path)
    assert state == [("ops", "pipeline_runs", 1)]
    return state


def _fails(loader, dataset: Path, db_path: Path, **kwargs) -> str:
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=PII_KEY, **kwargs)
    return str(err.value)


def _drop_receipts_column(path: Path, column: str) -> None:
    index = RECEIPTS.column_names.index(column)
    rows = [[v for i, v in enumerate(row) if i != index] for row in table_rows(RECEIPTS)]
    write_csv(path, [h for i, h in enumerate(RECEIPTS.column_names) if i != index], rows)


# ------------------------------------------------------------------ missing pieces


def test_missing_csv_file_fails_naming_it_and_creates_no_database(loader, dataset, db_path):
    (dataset / "receipts.csv").unlink()
    assert _fails(loader, dataset, db_path) == f"receipts.csv: file not found in {dataset}"
    assert _state(db_path) is None


def test_missing_sqlite_file_fails_naming_it(loader, dataset, db_path):
    (dataset / APP_DB_FILE).unlink()
    assert _fails(loader, dataset, db_path) == f"app.sqlite: file not found in {dataset}"
    assert _state(db_path) is None


def test_missing_sqlite_table_fails_naming_it_and_leaves_existing_db_unchanged(
    loader, dataset, db_path
):
    before = _existing_db(db_path)
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("drop table referrals")
    assert _fails(loader, dataset, db_path) == "app.sqlite: missing table 'referrals'"
    assert _state(db_path) == before


def test_missing_csv_column_fails_naming_file_and_column(loader, dataset, db_path):
    _drop_receipts_column(dataset / "receipts.csv", "status")
    assert _fails(loader, dataset, db_path) == "receipts.csv: missing required column 'status'"
    assert _state(db_path) is None


def test_missing_sqlite_column_fails_naming_table_and_column(loader, dataset, db_path):
    with sqlite3.connect(dataset / APP_DB_FILE) as con:
        con.execute("alter table users drop column phone")
    assert _fails(loader, dataset, db_path) == (
        "app.sqlite: table users missing required column 'phone'"
    )
    assert _state(db_path) is None


def test_empty_csv_without_header_fails(loader, dataset, db_path):
    (dataset / "receipt_items.csv").write_bytes(b"")
    assert _fails(loader, dataset, db_path) == "receipt_items.csv: empty file, no header row"
    assert _state(db_path) is None


def test_duplicate_header_column_fails(loader, dataset, db_path):
    header = [*RECEIPTS.column_names, "status"]
    rows = [[*row, "x"] for row in table_rows(RECEIPTS)]
    write_csv(dataset / "receipts.csv", header, rows)
    assert _fails(loader, dataset, db_path) == (
        "receipts.csv: duplicate column 'status' in header"
    )


def test_sqlite_file_that_is_not_a_database_fails(loader, dataset, db_path):
    (dataset / APP_DB_FILE).write_text("not a database\n" * 100)
    assert _fails(loader, dataset, db_path) == (
        "app.sqlite: not a readable SQLite database (file is not a database)"
    )


def test_missing_data_dir_fails(loader, tmp_path, db_path):
    missing = tmp_path / "nope"
    assert _fails(loader, missing, db_path) == f"data directory not found: {missing}"


@pytest.mark.parametrize("run_id", ["", "has space", "a/b", "x" * 65, "semi;colon", "abc\n",
                                    "abc\r\n", "\nabc"])
def test_invalid_run_id_is_refused(loader, dataset, db_path, run_id):
    """The project's one run-id rule (foundation.run_id), matched in full: no trailing newline."""
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, run_id, pii_key=PII_KEY)
    assert str(err.value) == (f"invalid --run-id {quoted(run_id)}: use 1-64 characters from "
                              "A-Z, a-z, 0-9, '_' and '-'")
    assert _state(db_path) is None


def test_run_id_that_is_not_a_string_is_refused(loader, dataset, db_path):
    assert _fails_with_run_id(loader, dataset, db_path, 5) == (
        "invalid run_id 5: must be a string")


def _fails_with_run_id(loader, dataset: Path, db_path: Path, run_id: object) -> str:
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(dataset, db_path, run_id, pii_key=PII_KEY)
    return str(err.value)


def test_invalid_reject_share_is_refused(loader, dataset, db_path):
    assert _fails(loader, dataset, db_path, max_reject_share=1.5) == (
        "invalid max_reject_share 1.5: must be between 0 and 1"
    )


# ------------------------------------------------------------------ all or nothing


def test_failure_in_the_last_table_rolls_back_every_earlier_table(loader, dataset, db_path):
    """rewards_ledger is loaded last: its failure must undo the eight tables before it."""
    before = _existing_db(db_path)
    path = dataset / "rewards_ledger.csv"
    text = path.read_text().splitlines()
    text[1] = text[1].replace("T14:03:00Z", "T14:03:00Z-garbage", 1)
    path.write_text("\n".join(text) + "\n")
    message = _fails(loader, dataset, db_path)
    assert message == (
        "rewards_ledger.csv: 1 of 3 rows rejected (33.33 %) exceeds the 1.00 % threshold; "
        "first: line 2 column created_at: could not convert "
        "'2025-09-01T14:03:00Z-garbage' to TIMESTAMP"
    )
    assert _state(db_path) == before
    assert not db_path.with_name(db_path.name + ".wal").exists()


def test_failure_on_a_new_file_removes_it(loader, dataset, db_path):
    path = dataset / "app_events.csv"
    path.write_text(path.read_text().replace("\n1,", "\nnot-a-number,", 1))
    assert _fails(loader, dataset, db_path).startswith(
        "app_events.csv: 1 of 3 rows rejected (33.33 %) exceeds the 1.00 % threshold; "
        "first: line 2 column event_id: could not convert 'not-a-number' to BIGINT"
    )
    assert _state(db_path) is None
    assert list(db_path.parent.glob("snapshot.duckdb*")) == []


# ------------------------------------------------------------------ CLI


def _cli(loader, capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = loader.main(list(args))
    except SystemExit as exc:  # argparse exits for bad arguments
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_missing_column_exits_1_with_one_line(loader, dataset, db_path, capsys,
                                                  pii_key_env):
    _drop_receipts_column(dataset / "receipts.csv", "status")
    code, out, err = _cli(loader, capsys, "--data-dir", str(dataset), "--db", str(db_path),
                          "--run-id", "r1")
    assert code == 1
    assert out == ""
    assert err == "load_raw.py: receipts.csv: missing required column 'status'\n"


@pytest.mark.parametrize("run_id", ["bad id", "abc\n"])
def test_cli_bad_run_id_exits_2_with_one_line(loader, dataset, db_path, capsys, run_id):
    code, _out, err = _cli(loader, capsys, "--data-dir", str(dataset), "--db", str(db_path),
                          "--run-id", run_id)
    assert code == 2
    assert err == (
        f"load_raw.py: error: invalid --run-id {quoted(run_id)}: use 1-64 characters from "
        "A-Z, a-z, 0-9, '_' and '-'\n"
    )
    assert _state(db_path) is None


def test_cli_bad_reject_share_exits_2_with_one_line(loader, dataset, db_path, capsys):
    code, _out, err = _cli(loader, capsys, "--data-dir", str(dataset), "--db", str(db_path),
                          "--run-id", "r1", "--max-reject-share", "1.5")
    assert code == 2
    assert err == "load_raw.py: error: invalid max_reject_share 1.5: must be between 0 and 1\n"
    assert _state(db_path) is None


def test_cli_missing_argument_exits_2_with_one_line(loader, capsys):
    code, _out, err = _cli(loader, capsys, "--data-dir", "x")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("load_raw.py: error: the following arguments are required: ")
    assert "Traceback" not in err


def test_cli_without_a_pii_key_exits_2_before_touching_anything(
        loader, dataset, db_path, capsys, monkeypatch):
    monkeypatch.delenv("CARTON_CAPS_PII_KEY", raising=False)
    code, out, err = _cli(loader, capsys, "--data-dir", str(dataset), "--db", str(db_path),
                          "--run-id", "r1")
    assert (code, out) == (2, "")
    assert err == ("load_raw.py: error: CARTON_CAPS_PII_KEY is not set: emails and phones "
                   "are hashed with the home's secret key as they load (the pipeline keeps "
                   "it in <home>/.secrets/pii_hmac.key)\n")
    assert not db_path.exists()


def test_load_raw_without_a_pii_key_fails_before_touching_anything(loader, dataset, db_path):
    with pytest.raises(loader.LoadError, match=r"^no PII key: the loader hashes emails"):
        loader.load_raw(dataset, db_path, RUN_ID, pii_key=" ")
    assert not db_path.exists()


def test_cli_as_a_script_fails_without_traceback(dataset, db_path, pii_key_env):
    import subprocess
    import sys

    from foundation.paths import REPO_ROOT

    (dataset / "app_events.csv").unlink()
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "duckdb" / "load_raw.py"), "--data-dir", str(dataset),
         "--db", str(db_path), "--run-id", "r1"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr == f"load_raw.py: app_events.csv: file not found in {dataset}\n"
    assert result.stdout == ""
    assert not db_path.exists()


def test_users_declaration_is_what_the_missing_column_test_assumes():
    assert "phone" in USERS.column_names


def test_unparseable_csv_fails_with_the_parser_message_and_no_database(
    loader, dataset, db_path
):
    """Mixed CRLF/LF line endings put DuckDB's CSV state machine in an invalid state."""
    path = dataset / "receipts.csv"
    lines = path.read_bytes().split(b"\n")[:-1]
    path.write_bytes(b"".join(
        line + (b"\r\n" if i % 2 == 0 else b"\n") for i, line in enumerate(lines)
    ))
    assert _fails(loader, dataset, db_path) == (
        "receipts.csv: cannot parse CSV: The CSV Parser state machine reached an invalid state."
    )
    assert _state(db_path) is None
