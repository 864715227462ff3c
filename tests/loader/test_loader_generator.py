"""The loader against the real generator's output (clean and with injected faults)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import duckdb
from foundation.source_tables import RECEIPTS, SOURCE_TABLES
from tests.loader.helpers import PII_KEY, RUN_ID

data_generator = pytest.importorskip("generator.data_generator")

SEED = 11
AS_OF = date(2026, 11, 1)


def _generate(out_dir: Path, faults: tuple[str, ...] = ()) -> dict[str, int]:
    config = data_generator.GeneratorConfig(seed=SEED, users=300, as_of=AS_OF, faults=faults)
    return data_generator.generate_dataset(out_dir, config)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out_dir = tmp_path_factory.mktemp("generated") / "data"
    return out_dir, _generate(out_dir)


def test_generated_run_loads_every_row_with_no_rejects_or_drift(loader, clean_run, tmp_path):
    data_dir, generated = clean_run
    db_path = tmp_path / "gen.duckdb"
    report = loader.load_raw(data_dir, db_path, RUN_ID, pii_key=PII_KEY)
    assert report.rows_rejected == 0
    assert report.schema_drift == ()
    assert report.warnings == ()
    loaded = {t.table: t.rows_loaded for t in report.tables}
    assert loaded == {t.name: generated[t.name] for t in SOURCE_TABLES}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in SOURCE_TABLES:
            count = con.execute(f'select count(*) from raw."{table.name}"').fetchone()[0]
            assert count == generated[table.name], table.name


def test_generated_timestamps_are_before_as_of(loader, clean_run, tmp_path):
    data_dir, _ = clean_run
    db_path = tmp_path / "gen.duckdb"
    loader.load_raw(data_dir, db_path, RUN_ID, pii_key=PII_KEY)
    with duckdb.connect(str(db_path), read_only=True) as con:
        latest = con.execute("select max(event_time) from raw.app_events").fetchone()[0]
    assert latest is not None and latest.date() < AS_OF


def test_extra_column_fault_is_loaded_and_reported_as_drift(loader, tmp_path):
    data_dir = tmp_path / "data"
    _generate(data_dir, ("schema_drift_extra_column", "null_keys", "duplicate_keys"))
    report = loader.load_raw(data_dir, tmp_path / "f.duckdb", RUN_ID, pii_key=PII_KEY)
    assert [(d["table_name"], d["column_name"], d["change"]) for d in report.schema_drift] == [
        ("receipts", "loyalty_card_id", "added")
    ]
    assert report.rows_rejected == 0
    with duckdb.connect(str(tmp_path / "f.duckdb"), read_only=True) as con:
        column = con.execute(
            "select data_type, ordinal_position from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'receipts' "
            "and column_name = 'loyalty_card_id'").fetchone()
        filled = con.execute("select count(loyalty_card_id) from raw.receipts").fetchone()[0]
    assert column == ("VARCHAR", len(RECEIPTS.columns) + 4)  # after the three stamps
    assert filled > 0


def test_missing_column_fault_fails_the_load_naming_the_column(loader, tmp_path):
    data_dir = tmp_path / "data"
    _generate(data_dir, ("schema_drift_missing_column",))
    with pytest.raises(loader.LoadError) as err:
        loader.load_raw(data_dir, tmp_path / "f.duckdb", RUN_ID, pii_key=PII_KEY)
    assert str(err.value) == "app_events.csv: missing required column 'app_version'"
    assert not (tmp_path / "f.duckdb").exists()


def test_empty_table_fault_loads_zero_rows_with_a_warning(loader, tmp_path):
    data_dir = tmp_path / "data"
    _generate(data_dir, ("empty_table",))
    report = loader.load_raw(data_dir, tmp_path / "f.duckdb", RUN_ID, pii_key=PII_KEY)
    items = next(t for t in report.tables if t.table == "receipt_items")
    assert items.rows_loaded == 0
    assert "receipt_items.csv: no rows (receipt_items is empty)" in report.warnings
