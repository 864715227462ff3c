"""Schema drift between snapshots and volume anomalies against comparable runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import duckdb
from foundation import ops_tables
from foundation.paths import HomePaths
from pipeline.checks import drift
from pipeline.checks import volume as anomalies

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def col(table: str, column: str, type_: str, nullable: bool = True, schema: str = "raw",
        ordinal: int = 1) -> dict[str, Any]:
    return {"schema": schema, "table": table, "table_type": "BASE TABLE", "column": column,
            "type": type_, "nullable": nullable, "ordinal": ordinal}


BEFORE = [col("users", "user_id", "BIGINT", False), col("users", "email", "VARCHAR"),
          col("users", "score", "INTEGER"), col("old", "x", "INTEGER")]


@pytest.mark.parametrize(("raw", "normalised"), [
    ("int", "INTEGER"), ("INT4", "INTEGER"), ("int8", "BIGINT"), ("text", "VARCHAR"),
    ("varchar(20)", "VARCHAR"), ("decimal( 12 ,2 )", "DECIMAL(12, 2)"), ("bool", "BOOLEAN"),
    ("timestamp with time zone", "TIMESTAMP WITH TIME ZONE"), ("TIMESTAMPTZ",
                                                               "TIMESTAMP WITH TIME ZONE"),
])
def test_type_names_are_normalised(raw: str, normalised: str) -> None:
    assert drift.normalize_type(raw) == normalised


def test_diff_reports_every_kind_of_change_with_before_and_after() -> None:
    after = [col("users", "user_id", "BIGINT", True), col("users", "email", "TEXT"),
             col("users", "score", "DOUBLE"), col("users", "loyalty_id", "VARCHAR"),
             col("new", "y", "DATE")]
    changes = [(c.schema, c.table, c.column, c.change, c.before, c.after)
               for c in drift.diff(BEFORE, after)]
    assert changes == [
        ("raw", "new", None, "table_added", None, "1 columns"),
        ("raw", "old", None, "table_removed", "1 columns", None),
        ("raw", "users", "loyalty_id", "column_added", None, "VARCHAR"),
        ("raw", "users", "user_id", "nullability_changed", "not null", "nullable"),
        ("raw", "users", "score", "type_changed", "INTEGER", "DOUBLE"),
    ]


def test_identical_snapshots_have_no_drift() -> None:
    assert drift.diff(BEFORE, [dict(c) for c in BEFORE]) == []


def _manifest(home: Path, run_id: str, status: str, started: str, counts: dict[str, int],
              users: int = 300, faults: list[str] | None = None,
              columns: list[dict[str, Any]] | None = None, seed: int = 1) -> None:
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    document = {"run_id": run_id, "status": status, "started_at": started,
                "params": {"users": users, "days": 540, "faults": faults or [], "seed": seed,
                           "as_of": "2026-11-01"},
                "row_counts": {"raw": counts, "marts": {}}}
    (logs / f"pipeline_{run_id}.json").write_text(json.dumps(document))
    if columns is not None:
        (logs / f"schema_{run_id}.json").write_text(json.dumps({"run_id": run_id,
                                                                "columns": columns}))


def test_drift_compares_with_the_newest_earlier_successful_run(tmp_path: Path) -> None:
    _manifest(tmp_path, "a", "success", "2026-01-01T00:00:00", {}, columns=BEFORE)
    _manifest(tmp_path, "b", "failed", "2026-01-02T00:00:00", {}, columns=[])
    _manifest(tmp_path, "c", "running", "2026-01-03T00:00:00", {})
    current = [*BEFORE, col("users", "extra", "VARCHAR")]
    loader = [{"table_name": "receipts", "source_file": "receipts.csv",
               "column_name": "loyalty_card_id", "change": "added",
               "detail": "column not in the declaration; not loaded into raw"}]
    report = drift.compare_with_previous(HomePaths(tmp_path), "c", "2026-01-03T00:00:00",
                                         current, loader)
    assert report.previous_run_id == "a" and report.baseline_available
    assert [(c.layer, c.table, c.column, c.change) for c in report.changes] == [
        ("source", "receipts", "loyalty_card_id", "column_added"),
        ("snapshot", "users", "extra", "column_added"),
    ]
    summary = report.to_manifest()["summary"]
    assert summary == {"changes": 2, "snapshot": 1, "source": 1,
                       "by_change": {"column_added": 2}}
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        written = {table: ops_tables.replace_rows(con, table, rows)
                   for table, rows in drift.ops_rows("c", current, report).items()}
        assert written == {"schema_columns": 5, "schema_drift": 2}
        rows = con.execute("select layer, table_name, column_name, change, previous_run_id "
                           "from ops.schema_drift order by layer").fetchall()
        types = con.execute("select column_name, data_type, normalized_type, is_nullable "
                            "from ops.schema_columns where column_name = 'user_id'").fetchall()
    assert rows == [("snapshot", "users", "extra", "column_added", "a"),
                    ("source", "receipts", "loyalty_card_id", "column_added", "a")]
    assert types == [("user_id", "BIGINT", "BIGINT", False)]


def test_first_run_has_no_baseline(tmp_path: Path) -> None:
    report = drift.compare_with_previous(HomePaths(tmp_path), "x", None, BEFORE, [])
    assert (report.previous_run_id, report.baseline_available, report.changes) == (None, False,
                                                                                   ())


def test_volume_baseline_is_comparable_clean_successful_runs_newest_first(
    tmp_path: Path,
) -> None:
    _manifest(tmp_path, "r1", "success", "2026-01-01", {"users": 300})
    _manifest(tmp_path, "r2", "success", "2026-01-02", {"users": 300}, users=500)
    _manifest(tmp_path, "r3", "success", "2026-01-03", {"users": 300}, faults=["stale_export"])
    _manifest(tmp_path, "r4", "failed", "2026-01-04", {"users": 300})
    _manifest(tmp_path, "r5", "success", "2026-01-05", {"users": 300})
    _manifest(tmp_path, "r6", "success", "2026-01-06", {"users": 300}, seed=2)
    baselines = anomalies.baseline_runs(HomePaths(tmp_path), "now",
                                        {"seed": 1, "users": 300, "days": 540}, "2026-02-01")
    assert [doc["run_id"] for doc in baselines] == ["r5", "r1"]


def test_counts_outside_the_tolerance_band_warn_with_figures() -> None:
    baselines = [{"run_id": "b1", "row_counts": {"raw": {"receipts": 300, "users": 300,
                                                         "items": 800, "gone": 5}}},
                 {"run_id": "b2", "row_counts": {"raw": {"receipts": 340, "users": 300,
                                                         "items": 900}}}]
    current = {"raw": {"receipts": 600, "users": 300, "items": 0, "brand_new": 7}}
    report = anomalies.check_counts(current, baselines, tolerance=0.5, min_abs_change=25)
    found = {c.table: c for c in report.anomalies}
    assert set(found) == {"receipts", "items", "gone"}
    receipts = found["receipts"]
    assert (receipts.rows, receipts.baseline_min, receipts.baseline_max, receipts.upper,
            receipts.change_pct) == (600, 300, 340, 535.0, 87.5)
    assert receipts.message == ("raw.receipts has 600 rows, +87.5% vs median 320 of 2 "
                                "comparable run(s); expected 125-535")
    assert found["items"].message == "raw.items is empty; comparable runs had 800-900 rows"
    assert found["gone"].message == "raw.gone is missing; comparable runs had 5-5 rows"
    assert report.to_manifest()["summary"] == {"checked": 4, "warn": 3}


def test_no_baseline_means_no_volume_checks() -> None:
    report = anomalies.check_counts({"raw": {"users": 1}}, [])
    assert report.checks == () and report.to_manifest()["baseline_run_ids"] == []
