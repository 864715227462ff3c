"""Named, seeded fault injection into a generated run (to show contracts catching defects).

Faults are applied after the clean files are written, to the CSV event exports, and every
injection is recorded in ``<out-dir>/faults.json`` (fault, table, file, column, affected
row ids, count, description; the day-level faults also the ``days`` they hit and their
``scope``). The first ten corrupt a small share of rows (:data:`FAULT_SHARE`, at least
:data:`MIN_FAULT_ROWS`) or one whole file; faults that hit the same file never pick the
same rows. The last six are failures over time, each inside the last
:data:`DETECTION_DAYS` complete days (the anomaly detection period), on a day drawn from
the seed: the data stays valid row by row, only its days look wrong.

========================== ================= ============================================
fault                      target            what is injected
========================== ================= ============================================
duplicate_keys             receipts          rows repeated verbatim (same receipt_id)
null_keys                  app_events        event_id (primary key) emptied
orphan_foreign_keys        rewards_ledger    user_id pointing at no user
late_events                app_events        event_time moved 1-30 days before the
                                             covered window (arrived in a later export)
future_events              app_events        event_time moved 1 h-30 days after as-of
negative_amounts           receipts          total_cents made negative
schema_drift_extra_column  receipts          undeclared column loyalty_card_id appended
schema_drift_missing_column app_events       declared column app_version dropped
stale_export               rewards_ledger    newest STALE_DAYS days of rows missing
empty_table                receipt_items     only the header row left
outage_day                 app_events        OUTAGE_SHARE of one day's events missing
platform_outage            app_events        one platform's events of one day missing
replayed_day               app_events        one day's events exported twice, new ids
null_burst                 app_events        properties null in NULL_BURST_SHARE of one
                                             day's events
unit_change                receipts          total_cents in dollars, not cents, for the
                                             last UNIT_CHANGE_DAYS days
rejection_spike            receipts (+items, REJECTION_SPIKE_SHARE of the accepted (and
                           ledger)           pending) receipts of two days rejected
                                             (blurry_image): their lines earn nothing,
                                             their earn_purchase entries are gone (never
                                             leaving a balance below zero)
========================== ================= ============================================
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from foundation.source_tables import (
    APP_EVENTS,
    RECEIPT_ITEMS,
    RECEIPTS,
    REWARDS_LEDGER,
    SourceTable,
)
from generator import vectors as vx
from generator.config import FAULT_CLASSES
from generator.parameters import DAY, HOUR

logger = logging.getLogger(__name__)

FAULT_SHARE = 0.005
MIN_FAULT_ROWS = 3
STALE_DAYS = 5
ORPHAN_USER_ID_BASE = 900_000_000
MAX_RECORDED_IDS = 1_000
EXTRA_COLUMN = "loyalty_card_id"
MISSING_COLUMN = "app_version"
#: The day-level faults hit the last this many complete days (the detection period).
DETECTION_DAYS = 7
#: outage_day: share of the day's events lost ("mostly missing", not all: a partial export).
OUTAGE_SHARE = 0.9
#: null_burst: the column a broken release stops sending, and in what share of the day's rows.
NULL_BURST_COLUMN = "properties"
NULL_BURST_SHARE = 0.9
#: unit_change: the last days whose receipt totals arrive in dollars.
UNIT_CHANGE_DAYS = 3
#: rejection_spike: consecutive days, share of their accepted receipts rejected, the reason.
REJECTION_SPIKE_DAYS = 2
REJECTION_SPIKE_SHARE = 0.7
REJECTION_SPIKE_REASON = "blurry_image"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# (fault, table, column); within a file, faults are applied in this order (rejection_spike,
# which changes three files, runs before all of them).
_TARGETS: tuple[tuple[str, SourceTable, str | None], ...] = (
    ("rejection_spike", RECEIPTS, "status"),
    ("empty_table", RECEIPT_ITEMS, None),
    ("stale_export", REWARDS_LEDGER, "created_at"),
    ("orphan_foreign_keys", REWARDS_LEDGER, "user_id"),
    ("unit_change", RECEIPTS, "total_cents"),
    ("duplicate_keys", RECEIPTS, "receipt_id"),
    ("negative_amounts", RECEIPTS, "total_cents"),
    ("schema_drift_extra_column", RECEIPTS, EXTRA_COLUMN),
    ("outage_day", APP_EVENTS, None),
    ("platform_outage", APP_EVENTS, "platform"),
    ("replayed_day", APP_EVENTS, "event_id"),
    ("null_burst", APP_EVENTS, NULL_BURST_COLUMN),
    ("null_keys", APP_EVENTS, "event_id"),
    ("late_events", APP_EVENTS, "event_time"),
    ("future_events", APP_EVENTS, "event_time"),
    ("schema_drift_missing_column", APP_EVENTS, MISSING_COLUMN),
)
TARGETS: dict[str, tuple[SourceTable, str | None]] = {f: (t, c) for f, t, c in _TARGETS}
#: Faults that change several files at once, injected before the per-file ones.
CROSS_FILE_FAULTS = ("rejection_spike",)


@dataclass(frozen=True)
class Injection:
    """What one fault did, as recorded in faults.json."""

    fault: str
    table: str
    file: str
    column: str | None
    row_ids: list[int]
    count: int
    description: str
    #: the UTC days (YYYY-MM-DD) a day-level fault hit, and what it was confined to
    days: tuple[str, ...] = ()
    scope: dict[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        ids = self.row_ids[:MAX_RECORDED_IDS]
        document: dict[str, Any] = {
            "fault": self.fault, "table": self.table, "file": self.file,
            "column": self.column, "id_column": TARGETS[self.fault][0].primary_key,
            "row_ids": ids, "row_ids_truncated": len(ids) < len(self.row_ids),
            "count": self.count, "description": self.description,
        }
        if self.days:
            document["days"] = list(self.days)
        if self.scope:
            document["scope"] = dict(self.scope)
        return document


def _read(path: Path, spec: SourceTable) -> pa.Table:
    from generator.writers import csv_schema

    schema = csv_schema(spec)
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={f.name: f.type for f in schema}, strings_can_be_null=True))


def _pick(rng: np.random.Generator, free: np.ndarray) -> np.ndarray:
    """A sorted sample of free row positions (small share, at least a few)."""
    candidates = np.flatnonzero(free)
    k = min(len(candidates), max(MIN_FAULT_ROWS, round(len(free) * FAULT_SHARE)))
    chosen = np.sort(rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]
    free[chosen] = False
    return chosen


def _set(table: pa.Table, column: str, rows: np.ndarray, values: pa.Array) -> pa.Table:
    """``table`` with ``column`` replaced at ``rows`` by ``values``."""
    col = table.column(column).combine_chunks()
    mask = np.zeros(table.num_rows, bool)
    mask[rows] = True
    full = pa.nulls(table.num_rows, col.type) if len(values) else col
    if len(values):
        index = np.zeros(table.num_rows, dtype=np.int64)
        index[rows] = np.arange(len(rows))
        full = values.take(pa.array(index))
    replaced = pc.if_else(pa.array(mask), full, col)
    return table.set_column(table.schema.get_field_index(column), column, replaced)


def _ids(table: pa.Table, spec: SourceTable, rows: np.ndarray) -> list[int]:
    return [int(v) for v in table.column(spec.primary_key).take(pa.array(rows)).to_pylist()
            if v is not None]


def _seconds(table: pa.Table, column: str) -> np.ndarray:
    """Epoch seconds of an ISO timestamp column (-1 where null)."""
    parsed = pc.strptime(table.column(column), ISO_FORMAT, "s")
    return np.asarray(pc.cast(parsed, pa.int64()).fill_null(-1), dtype=np.int64)


def _days_back(seconds: np.ndarray, window_end: int) -> np.ndarray:
    """1 for the last complete day before as-of, 2 for the one before, ...; 0 when null."""
    return np.where(seconds >= 0, (window_end - 1 - seconds) // DAY + 1, 0)


def _iso_day(window_end: int, days_back: int) -> str:
    return dt.datetime.fromtimestamp(window_end - days_back * DAY, dt.UTC).date().isoformat()


def _pick_day(rng: np.random.Generator, days_back: np.ndarray, eligible: np.ndarray,
              first: int = 1) -> int:
    """A day of the detection period (days back, from ``first``) that has eligible rows;
    the last day when none has (the fault then changes nothing, and says so)."""
    candidates = [k for k in range(first, DETECTION_DAYS + 1)
                  if np.any(eligible & (days_back == k))]
    return int(rng.choice(candidates)) if candidates else first


def _day_fault(
    fault: str, table: pa.Table, spec: SourceTable, free: np.ndarray,
    rng: np.random.Generator, window_end: int,
) -> tuple[pa.Table, np.ndarray, Injection]:
    """The day-level faults of the app_events and receipts exports."""
    column = TARGETS[fault][1]
    n = table.num_rows
    back = _days_back(_seconds(table, spec.event_time_column), window_end)

    def record(ids: list[int], count: int, description: str, days: tuple[str, ...],
               scope: dict[str, str] | None = None) -> Injection:
        return Injection(fault, spec.name, spec.file_name, column, ids, count, description,
                         days, scope)

    if fault == "unit_change":
        rows = np.flatnonzero(free & (back >= 1) & (back <= UNIT_CHANGE_DAYS))
        cents = np.asarray(table.column("total_cents").combine_chunks().take(pa.array(rows)),
                           dtype=np.float64)
        table = _set(table, "total_cents", rows, vx.ints(np.round(cents / 100)))
        free[rows] = False
        days = tuple(_iso_day(window_end, k) for k in range(UNIT_CHANGE_DAYS, 0, -1))
        return table, free, record(_ids(table, spec, rows), len(rows),
                                   f"total_cents of the {len(rows)} receipts scanned in the "
                                   f"last {UNIT_CHANGE_DAYS} days written in dollars "
                                   "(rounded), not cents", days)
    day = _pick_day(rng, back, free)
    on_day = free & (back == day)
    days = (_iso_day(window_end, day),)
    if fault == "outage_day":
        candidates = np.flatnonzero(on_day)
        lost = np.sort(rng.choice(candidates, size=round(len(candidates) * OUTAGE_SHARE),
                                  replace=False))
        keep = np.ones(n, bool)
        keep[lost] = False
        inj = record(_ids(table, spec, lost), len(lost),
                     f"{len(lost)} of the {len(candidates)} events of {days[0]} "
                     f"({OUTAGE_SHARE:.0%}) missing from the export", days)
        return table.filter(pa.array(keep)), free[keep], inj
    if fault == "platform_outage":
        platforms = np.asarray(table.column("platform").to_numpy(zero_copy_only=False),
                               dtype=object)
        present = sorted({str(p) for p in platforms[on_day]}) or ["android"]
        platform = str(rng.choice(present))
        lost = np.flatnonzero(on_day & (platforms == platform))
        keep = np.ones(n, bool)
        keep[lost] = False
        inj = record(_ids(table, spec, lost), len(lost),
                     f"every {platform} event of {days[0]} ({len(lost)}) missing from the "
                     "export", days, {"platform": platform})
        return table.filter(pa.array(keep)), free[keep], inj
    if fault == "replayed_day":
        rows = np.flatnonzero(on_day)
        ids = np.asarray(table.column(spec.primary_key).combine_chunks().fill_null(0),
                         dtype=np.int64)
        new_ids = (int(ids.max()) if n else 0) + 1 + np.arange(len(rows))
        replay = table.take(pa.array(rows))
        replay = replay.set_column(replay.schema.get_field_index(spec.primary_key),
                                   spec.primary_key, vx.ints(new_ids))
        inj = record([int(i) for i in new_ids], len(rows),
                     f"the {len(rows)} events of {days[0]} exported a second time under "
                     f"new {spec.primary_key}s", days)
        return (pa.concat_tables([table, replay.cast(table.schema)]),
                np.concatenate([free, np.zeros(len(rows), bool)]), inj)
    if fault == "null_burst":
        candidates = np.flatnonzero(on_day)
        rows = np.sort(rng.choice(candidates, size=round(len(candidates) * NULL_BURST_SHARE),
                                  replace=False))
        table = _set(table, NULL_BURST_COLUMN, rows,
                     pa.nulls(len(rows), table.schema.field(NULL_BURST_COLUMN).type))
        free[rows] = False
        return table, free, record(_ids(table, spec, rows), len(rows),
                                   f"{NULL_BURST_COLUMN} emptied in {len(rows)} of the "
                                   f"{len(candidates)} events of {days[0]} "
                                   f"({NULL_BURST_SHARE:.0%})", days)
    raise ValueError(f"unknown fault {fault!r}")


def _rejection_spike(out_dir: Path, seed: int, window_end: int,
                     counts: dict[str, int]) -> Injection:
    """Reject most receipts of two days, as an OCR partner's outage would: accepted ones and
    those that would have waited for manual review.

    A rejected receipt earns nothing: its lines' caps_earned become 0 and its earn_purchase
    ledger entries are removed, except for users whose end-of-day balance would then go
    below zero (their receipts stay accepted), so the ledger stays a valid ledger.
    """
    rng = np.random.default_rng(
        np.random.SeedSequence([seed, 9_000, FAULT_CLASSES.index("rejection_spike")]))
    receipts = _read(out_dir / RECEIPTS.file_name, RECEIPTS)
    back = _days_back(_seconds(receipts, "scanned_at"), window_end)
    # accepted receipts and those held for review: the OCR step fails before either
    readable = np.asarray(pc.is_in(receipts.column("status"),
                                   pa.array(["accepted", "pending"])).fill_null(False))
    last = _pick_day(rng, back, readable, first=REJECTION_SPIKE_DAYS) if len(back) else 2
    span = (back <= last) & (back > last - REJECTION_SPIKE_DAYS)
    chosen = np.flatnonzero(readable & span & (rng.random(len(back)) < REJECTION_SPIKE_SHARE))
    receipt_ids = np.asarray(receipts.column("receipt_id").combine_chunks().fill_null(-1),
                             dtype=np.int64)
    ledger = _read(out_dir / REWARDS_LEDGER.file_name, REWARDS_LEDGER)
    user = np.asarray(ledger.column("user_id").combine_chunks().fill_null(-1), dtype=np.int64)
    amount = np.asarray(ledger.column("amount_cents").combine_chunks().fill_null(0),
                        dtype=np.int64)
    source = np.asarray(ledger.column("source_id").combine_chunks().fill_null(-1),
                        dtype=np.int64)
    earn = np.asarray(pc.equal(ledger.column("entry_type"), "earn_purchase").fill_null(False))
    removed = earn & np.isin(source, receipt_ids[chosen])
    # end-of-day balances of the users who lose credits, without those credits
    day = _seconds(ledger, "created_at") // DAY
    touched = np.isin(user, user[removed])
    order = np.lexsort((day[touched], user[touched]))
    u, d = user[touched][order], day[touched][order]
    change = np.where(removed[touched], 0, amount[touched])[order]
    running = np.cumsum(change)
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    before = np.repeat(np.r_[0, running[starts[1:] - 1]], np.diff(np.r_[starts, len(u)]))
    balance = running - before
    end_of_day = np.r_[(u[1:] != u[:-1]) | (d[1:] != d[:-1]), True] if len(u) else u
    negative = np.unique(u[end_of_day & (balance < 0)]) if len(u) else u
    removed &= ~np.isin(user, negative)
    kept_users = np.isin(np.asarray(receipts.column("user_id").combine_chunks().fill_null(-1),
                                    dtype=np.int64)[chosen], negative)
    chosen = chosen[~kept_users]
    flipped = receipt_ids[chosen]

    receipts = _set(receipts, "status", chosen, pa.array(["rejected"] * len(chosen)))
    receipts = _set(receipts, "rejection_reason", chosen,
                    pa.array([REJECTION_SPIKE_REASON] * len(chosen)))
    items = _read(out_dir / RECEIPT_ITEMS.file_name, RECEIPT_ITEMS)
    item_rows = np.flatnonzero(np.isin(
        np.asarray(items.column("receipt_id").combine_chunks().fill_null(-1), dtype=np.int64),
        flipped))
    items = _set(items, "caps_earned", item_rows, vx.ints(np.zeros(len(item_rows))))
    ledger = ledger.filter(pa.array(~removed))
    for spec, table in ((RECEIPTS, receipts), (RECEIPT_ITEMS, items), (REWARDS_LEDGER, ledger)):
        _write(out_dir / spec.file_name, table)
        counts[spec.name] = table.num_rows
    days = tuple(_iso_day(window_end, k) for k in range(last, last - REJECTION_SPIKE_DAYS, -1))
    return Injection("rejection_spike", RECEIPTS.name, RECEIPTS.file_name, "status",
                     [int(i) for i in flipped], len(flipped),
                     f"{len(flipped)} accepted or pending receipts scanned on {days[0]} and "
                     f"{days[1]} "
                     f"rejected ({REJECTION_SPIKE_REASON}); their lines earn 0 caps and "
                     f"their {int(removed.sum())} earn_purchase entries are gone", days)


def _write(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pacsv.write_csv(table, tmp)
    tmp.replace(path)


def _inject(
    fault: str, table: pa.Table, spec: SourceTable, free: np.ndarray,
    rng: np.random.Generator, window_start: int, window_end: int,
) -> tuple[pa.Table, np.ndarray, Injection]:
    column = TARGETS[fault][1]
    n = table.num_rows

    def record(ids: list[int], count: int, description: str) -> Injection:
        return Injection(fault, spec.name, spec.file_name, column, ids, count, description)

    if fault in ("outage_day", "platform_outage", "replayed_day", "null_burst", "unit_change"):
        return _day_fault(fault, table, spec, free, rng, window_end)
    if fault == "empty_table":
        inj = record(table.column(spec.primary_key).to_pylist(), n,
                     f"all {n} data rows removed; only the header row is left")
        return table.slice(0, 0), free[:0], inj
    if fault == "stale_export":
        cutoff = window_end - STALE_DAYS * DAY
        created = pc.strptime(table.column("created_at"), "%Y-%m-%dT%H:%M:%SZ", "s")
        keep = np.asarray(pc.less(created, pa.scalar(cutoff, pa.timestamp("s"))).fill_null(True))
        removed = np.flatnonzero(~keep)
        inj = record(_ids(table, spec, removed), len(removed),
                     f"export stopped {STALE_DAYS} days before as-of: the {len(removed)} rows "
                     f"created in the last {STALE_DAYS} days are missing")
        return table.filter(pa.array(keep)), free[keep], inj
    if fault == "schema_drift_extra_column":
        values = vx.digits(rng.integers(0, 10**10, n), 10) if n else pa.array([], pa.string())
        inj = record([], n, f"undeclared column {EXTRA_COLUMN!r} appended after the last "
                     "declared column")
        return table.append_column(EXTRA_COLUMN, values), free, inj
    if fault == "schema_drift_missing_column":
        inj = record([], n, f"declared column {MISSING_COLUMN!r} dropped from the export")
        return table.drop_columns([MISSING_COLUMN]), free, inj

    rows = _pick(rng, free)
    ids = _ids(table, spec, rows)
    k = len(rows)
    if fault == "duplicate_keys":
        order = np.sort(np.concatenate([np.arange(n), rows]), kind="stable")
        inj = record(ids, k, f"{k} rows repeated verbatim right after the original, so "
                     f"{spec.primary_key} is no longer unique")
        new_free = free[order] & ~np.isin(order, rows)
        return table.take(pa.array(order)), new_free, inj
    if fault == "null_keys":
        table = _set(table, column, rows, pa.nulls(k, pa.int64()))
        return table, free, record(ids, k, f"{column} emptied (null primary key) in {k} rows")
    if fault == "orphan_foreign_keys":
        values = vx.ints(ORPHAN_USER_ID_BASE + np.arange(1, k + 1))
        table = _set(table, column, rows, values)
        return table, free, record(ids, k, f"{column} set to ids >= {ORPHAN_USER_ID_BASE} "
                                   "that exist in no users row")
    if fault == "late_events":
        t = window_start - rng.integers(DAY, 30 * DAY, k)
        table = _set(table, column, rows, vx.iso_timestamps(t))
        return table, free, record(ids, k, f"{column} moved 1-30 days before the covered "
                                   "window start (late-arriving events)")
    if fault == "future_events":
        t = window_end + rng.integers(HOUR, 30 * DAY, k)
        table = _set(table, column, rows, vx.iso_timestamps(t))
        return table, free, record(ids, k, f"{column} moved 1 hour to 30 days after the "
                                   "as-of cut-off")
    if fault == "negative_amounts":
        values = pc.subtract(pa.scalar(-1, pa.int64()),
                             pc.abs(table.column(column).combine_chunks().take(pa.array(rows))))
        table = _set(table, column, rows, values)
        return table, free, record(ids, k, f"{column} made negative in {k} rows")
    raise ValueError(f"unknown fault {fault!r}")


def apply_faults(
    out_dir: Path, faults: Sequence[str], seed: int, window: Any
) -> dict[str, int]:
    """Inject ``faults`` into the files in ``out_dir``; write faults.json; rows per table."""
    requested = set(faults)
    unknown = requested - set(FAULT_CLASSES)
    if unknown:
        raise ValueError(f"unknown fault {sorted(unknown)[0]!r}; known: {', '.join(FAULT_CLASSES)}")
    injections: dict[str, Injection] = {}
    counts: dict[str, int] = {}
    if "rejection_spike" in requested:
        injections["rejection_spike"] = _rejection_spike(out_dir, seed, window.end, counts)
        logger.info("fault rejection_spike: %s", injections["rejection_spike"].description)
    specs = [spec for spec in (RECEIPT_ITEMS, REWARDS_LEDGER, RECEIPTS, APP_EVENTS)
             if any(f in requested and TARGETS[f][0] is spec and f not in CROSS_FILE_FAULTS
                    for f in FAULT_CLASSES)]
    for spec in specs:
        path = out_dir / spec.file_name
        table = _read(path, spec)
        free = np.ones(table.num_rows, bool)
        for fault, target, _ in _TARGETS:
            if target is not spec or fault not in requested or fault in CROSS_FILE_FAULTS:
                continue
            rng = np.random.default_rng(
                np.random.SeedSequence([seed, 9_000, FAULT_CLASSES.index(fault)]))
            table, free, injections[fault] = _inject(
                fault, table, spec, free, rng, window.start, window.end)
            logger.info("fault %s: %s", fault, injections[fault].description)
        _write(path, table)
        counts[spec.name] = table.num_rows
    report = {"faults": [injections[f].as_json() for f in FAULT_CLASSES if f in injections]}
    (out_dir / "faults.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return counts
