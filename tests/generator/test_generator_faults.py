"""Each fault class does exactly what faults.json says it did."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from generator_testkit import TINY

from foundation.source_tables import TABLES_BY_NAME
from generator.data_generator import (
    FAULT_CLASSES,
    GeneratorInputError,
    generate_dataset,
)
from generator.faults import (
    DETECTION_DAYS,
    EXTRA_COLUMN,
    MISSING_COLUMN,
    NULL_BURST_COLUMN,
    ORPHAN_USER_ID_BASE,
    OUTAGE_SHARE,
    REJECTION_SPIKE_REASON,
    STALE_DAYS,
    UNIT_CHANGE_DAYS,
)

AS_OF = dt.datetime(2026, 11, 1)
START = AS_OF - dt.timedelta(days=TINY.days)
DAY_LEVEL_FAULTS = ("outage_day", "platform_outage", "replayed_day", "null_burst",
                    "unit_change", "rejection_spike")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _ts(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate_dataset(out, TINY)
    return out


def _faulted(tmp_path: Path, *faults: str) -> tuple[Path, dict[str, dict]]:
    generate_dataset(tmp_path, dataclasses.replace(TINY, faults=faults))
    report = json.loads((tmp_path / "faults.json").read_text(encoding="utf-8"))
    return tmp_path, {entry["fault"]: entry for entry in report["faults"]}


def test_fault_classes_cover_the_issue() -> None:
    assert set(FAULT_CLASSES) >= {
        "duplicate_keys", "null_keys", "orphan_foreign_keys", "late_events", "future_events",
        "negative_amounts", "schema_drift_extra_column", "schema_drift_missing_column",
        "stale_export", "empty_table"}


@pytest.mark.parametrize("fault", FAULT_CLASSES)
def test_faults_json_records_each_injection(tmp_path: Path, fault: str) -> None:
    _, report = _faulted(tmp_path, fault)
    assert list(report) == [fault]
    entry = report[fault]
    day_level = fault in DAY_LEVEL_FAULTS
    assert set(entry) - {"scope"} == {"fault", "table", "file", "column", "id_column",
                                      "row_ids", "row_ids_truncated", "count",
                                      "description"} | ({"days"} if day_level else set())
    if day_level:  # inside the detection period: the last DETECTION_DAYS complete days
        assert all(AS_OF - dt.timedelta(days=DETECTION_DAYS) <= dt.datetime.fromisoformat(d)
                   < AS_OF for d in entry["days"])
    spec = TABLES_BY_NAME[entry["table"]]
    assert entry["file"] == spec.file_name
    assert entry["id_column"] == spec.primary_key
    assert entry["count"] > 0
    assert entry["description"]


def test_duplicate_keys(tmp_path: Path, clean: Path) -> None:
    out, report = _faulted(tmp_path, "duplicate_keys")
    entry = report["duplicate_keys"]
    ids = [r["receipt_id"] for r in _rows(out / "receipts.csv")]
    duplicated = sorted({int(i) for i in ids if ids.count(i) > 1})
    assert duplicated == entry["row_ids"]
    assert len(ids) == len(_rows(clean / "receipts.csv")) + entry["count"]


def test_null_keys(tmp_path: Path, clean: Path) -> None:
    out, report = _faulted(tmp_path, "null_keys")
    entry = report["null_keys"]
    rows = _rows(out / "app_events.csv")
    assert sum(r["event_id"] == "" for r in rows) == entry["count"]
    present = {int(r["event_id"]) for r in rows if r["event_id"]}
    expected = {int(r["event_id"]) for r in _rows(clean / "app_events.csv")}
    assert sorted(expected - present) == entry["row_ids"]


def test_orphan_foreign_keys(tmp_path: Path, clean: Path) -> None:
    out, report = _faulted(tmp_path, "orphan_foreign_keys")
    entry = report["orphan_foreign_keys"]
    assert (entry["table"], entry["column"]) == ("rewards_ledger", "user_id")
    orphans = [int(r["entry_id"]) for r in _rows(out / "rewards_ledger.csv")
               if int(r["user_id"]) > TINY.users]
    assert orphans == entry["row_ids"]
    assert all(int(r["user_id"]) > ORPHAN_USER_ID_BASE for r in _rows(out / "rewards_ledger.csv")
               if int(r["entry_id"]) in orphans)


def test_late_and_future_events_hit_distinct_rows(tmp_path: Path) -> None:
    out, report = _faulted(tmp_path, "late_events", "future_events", "null_keys")
    rows = {r["event_id"]: r for r in _rows(out / "app_events.csv") if r["event_id"]}
    late = [int(i) for i, r in rows.items() if _ts(r["event_time"]) < START]
    future = [int(i) for i, r in rows.items() if _ts(r["event_time"]) >= AS_OF]
    assert sorted(late) == report["late_events"]["row_ids"]
    assert sorted(future) == report["future_events"]["row_ids"]
    assert not set(late) & set(future)
    assert not set(report["null_keys"]["row_ids"]) & (set(late) | set(future))


def test_negative_amounts(tmp_path: Path) -> None:
    out, report = _faulted(tmp_path, "negative_amounts", "duplicate_keys")
    negative = [int(r["receipt_id"]) for r in _rows(out / "receipts.csv")
                if int(r["total_cents"]) < 0]
    assert negative == report["negative_amounts"]["row_ids"]
    assert not set(negative) & set(report["duplicate_keys"]["row_ids"])


def test_schema_drift(tmp_path: Path) -> None:
    out, report = _faulted(tmp_path, "schema_drift_extra_column", "schema_drift_missing_column")
    assert _header(out / "receipts.csv") == [
        *TABLES_BY_NAME["receipts"].column_names, EXTRA_COLUMN]
    assert report["schema_drift_extra_column"]["column"] == EXTRA_COLUMN
    expected = [c for c in TABLES_BY_NAME["app_events"].column_names if c != MISSING_COLUMN]
    assert _header(out / "app_events.csv") == expected
    assert report["schema_drift_missing_column"]["column"] == MISSING_COLUMN


def test_stale_export(tmp_path: Path, clean: Path) -> None:
    out, report = _faulted(tmp_path, "stale_export")
    entry = report["stale_export"]
    rows = _rows(out / "rewards_ledger.csv")
    newest = max(_ts(r["created_at"]) for r in rows)
    assert newest < AS_OF - dt.timedelta(days=STALE_DAYS)
    assert len(rows) == len(_rows(clean / "rewards_ledger.csv")) - entry["count"]


def test_empty_table(tmp_path: Path) -> None:
    out, report = _faulted(tmp_path, "empty_table")
    entry = report["empty_table"]
    text = (out / entry["file"]).read_text(encoding="utf-8")
    assert text.splitlines() == [",".join(
        f'"{c}"' for c in TABLES_BY_NAME[entry["table"]].column_names)]


def _day(rows: list[dict[str, str]], column: str, day: str) -> list[dict[str, str]]:
    return [r for r in rows if r[column].startswith(day)]


def test_outage_day_drops_most_of_one_days_events(tmp_path: Path, clean: Path) -> None:
    out, report = _faulted(tmp_path, "outage_day")
    (day,) = report["outage_day"]["days"]
    before = _day(_rows(clean / "app_events.csv"), "event_time", day)
    after = _day(_rows(out / "app_events.csv"), "event_time", day)
    assert len(before) - len(after) == report["outage_day"]["count"]
    assert len(after) == round(len(before) * (1 - OUTAGE_SHARE))
    lost = {int(r["event_id"]) for r in before} - {int(r["event_id"]) for r in after}
    assert sorted(lost) == report["outage_day"]["row_ids"]


def test_platform_outage_drops_one_platforms_events_of_one_day(tmp_path: Path,
                                                               clean: Path) -> None:
    out, report = _faulted(tmp_path, "platform_outage")
    entry = report["platform_outage"]
    (day,) = entry["days"]
    platform = entry["scope"]["platform"]
    after = _day(_rows(out / "app_events.csv"), "event_time", day)
    before = _day(_rows(clean / "app_events.csv"), "event_time", day)
    assert [r for r in after if r["platform"] == platform] == []
    assert len(before) - len(after) == entry["count"] > 0
    assert len([r for r in after if r["platform"] != platform]) > 0


def test_replayed_day_exports_one_days_events_again_under_new_ids(tmp_path: Path,
                                                                  clean: Path) -> None:
    out, report = _faulted(tmp_path, "replayed_day")
    entry = report["replayed_day"]
    (day,) = entry["days"]
    before = _day(_rows(clean / "app_events.csv"), "event_time", day)
    after = _day(_rows(out / "app_events.csv"), "event_time", day)
    assert len(after) == 2 * len(before) == 2 * entry["count"]
    ids = [r["event_id"] for r in _rows(out / "app_events.csv")]
    assert len(ids) == len(set(ids))  # new ids: nothing a key test can see

    def content(r: dict[str, str]) -> tuple[str, ...]:
        return tuple(v for k, v in r.items() if k != "event_id")

    assert sorted(map(content, after)) == sorted(map(content, before + before))


def test_null_burst_empties_a_column_in_most_of_one_days_events(tmp_path: Path) -> None:
    out, report = _faulted(tmp_path, "null_burst")
    entry = report["null_burst"]
    (day,) = entry["days"]
    rows = _day(_rows(out / "app_events.csv"), "event_time", day)
    emptied = [int(r["event_id"]) for r in rows if r[NULL_BURST_COLUMN] == ""
               and int(r["event_id"]) in set(entry["row_ids"])]
    assert sorted(emptied) == entry["row_ids"] and entry["column"] == NULL_BURST_COLUMN
    assert entry["count"] >= 0.85 * len(rows)


def test_unit_change_writes_the_last_days_totals_in_dollars(tmp_path: Path,
                                                            clean: Path) -> None:
    out, report = _faulted(tmp_path, "unit_change")
    entry = report["unit_change"]
    assert len(entry["days"]) == UNIT_CHANGE_DAYS
    cents = {r["receipt_id"]: int(r["total_cents"]) for r in _rows(clean / "receipts.csv")}
    changed = [r for r in _rows(out / "receipts.csv")
               if r["scanned_at"][:10] in entry["days"]]
    assert len(changed) == entry["count"] > 0
    assert all(int(r["total_cents"]) == round(cents[r["receipt_id"]] / 100) for r in changed)


def test_rejection_spike_rejects_two_days_receipts_and_keeps_the_ledger_valid(
        tmp_path: Path, clean: Path) -> None:
    out, report = _faulted(tmp_path, "rejection_spike")
    entry = report["rejection_spike"]
    assert len(entry["days"]) == 2
    flipped = set(entry["row_ids"])
    receipts = {int(r["receipt_id"]): r for r in _rows(out / "receipts.csv")}
    assert all(receipts[i]["status"] == "rejected"
               and receipts[i]["rejection_reason"] == REJECTION_SPIKE_REASON
               and receipts[i]["scanned_at"][:10] in entry["days"] for i in flipped)
    assert all(int(r["caps_earned"]) == 0 for r in _rows(out / "receipt_items.csv")
               if int(r["receipt_id"]) in flipped)
    ledger = _rows(out / "rewards_ledger.csv")
    assert not [r for r in ledger if r["entry_type"] == "earn_purchase"
                and r["source_id"] and int(r["source_id"]) in flipped]
    ends: dict[tuple[str, str], int] = {}
    running: dict[str, int] = {}
    for r in sorted(ledger, key=lambda r: (r["user_id"], r["created_at"])):
        running[r["user_id"]] = running.get(r["user_id"], 0) + int(r["amount_cents"])
        ends[(r["user_id"], r["created_at"][:10])] = running[r["user_id"]]
    assert min(ends.values()) >= 0  # no end-of-day balance below zero
    removed = len(_rows(clean / "rewards_ledger.csv")) - len(ledger)
    assert f"their {removed} earn_purchase entries are gone" in entry["description"]


def test_all_faults_together_return_the_written_counts(tmp_path: Path) -> None:
    counts = generate_dataset(tmp_path, dataclasses.replace(TINY, faults=FAULT_CLASSES))
    assert counts["receipt_items"] == 0
    for name in ("receipts", "rewards_ledger", "app_events"):
        assert counts[name] == len(_rows(tmp_path / f"{name}.csv"))


def test_unknown_fault_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(GeneratorInputError) as info:
        generate_dataset(tmp_path, dataclasses.replace(TINY, faults=("foo",)))
    assert str(info.value) == f"unknown fault 'foo'; known: {', '.join(FAULT_CLASSES)}"
    assert not any(tmp_path.iterdir())
