"""Named, seeded fault injection into a generated run (to show contracts catching defects).

Faults are applied after the clean files are written, to the CSV event exports, and every
injection is recorded in ``<out-dir>/faults.json`` (fault, table, file, column, affected
row ids, count, description). Each fault corrupts a small share of rows
(:data:`FAULT_SHARE`, at least :data:`MIN_FAULT_ROWS`) or one whole file; faults that hit
the same file never pick the same rows.

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
========================== ================= ============================================
"""

from __future__ import annotations

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
from generator.parameters import DAY, HOUR

logger = logging.getLogger(__name__)

FAULT_CLASSES: tuple[str, ...] = (
    "duplicate_keys",
    "null_keys",
    "orphan_foreign_keys",
    "late_events",
    "future_events",
    "negative_amounts",
    "schema_drift_extra_column",
    "schema_drift_missing_column",
    "stale_export",
    "empty_table",
)
FAULT_SHARE = 0.005
MIN_FAULT_ROWS = 3
STALE_DAYS = 5
ORPHAN_USER_ID_BASE = 900_000_000
MAX_RECORDED_IDS = 1_000
EXTRA_COLUMN = "loyalty_card_id"
MISSING_COLUMN = "app_version"

# (fault, table, column); within a file, faults are applied in this order.
_TARGETS: tuple[tuple[str, SourceTable, str | None], ...] = (
    ("empty_table", RECEIPT_ITEMS, None),
    ("stale_export", REWARDS_LEDGER, "created_at"),
    ("orphan_foreign_keys", REWARDS_LEDGER, "user_id"),
    ("duplicate_keys", RECEIPTS, "receipt_id"),
    ("negative_amounts", RECEIPTS, "total_cents"),
    ("schema_drift_extra_column", RECEIPTS, EXTRA_COLUMN),
    ("null_keys", APP_EVENTS, "event_id"),
    ("late_events", APP_EVENTS, "event_time"),
    ("future_events", APP_EVENTS, "event_time"),
    ("schema_drift_missing_column", APP_EVENTS, MISSING_COLUMN),
)
TARGETS: dict[str, tuple[SourceTable, str | None]] = {f: (t, c) for f, t, c in _TARGETS}


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

    def as_json(self) -> dict[str, Any]:
        ids = self.row_ids[:MAX_RECORDED_IDS]
        return {
            "fault": self.fault, "table": self.table, "file": self.file,
            "column": self.column, "id_column": TARGETS[self.fault][0].primary_key,
            "row_ids": ids, "row_ids_truncated": len(ids) < len(self.row_ids),
            "count": self.count, "description": self.description,
        }


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


def _inject(
    fault: str, table: pa.Table, spec: SourceTable, free: np.ndarray,
    rng: np.random.Generator, window_start: int, window_end: int,
) -> tuple[pa.Table, np.ndarray, Injection]:
    column = TARGETS[fault][1]
    n = table.num_rows

    def record(ids: list[int], count: int, description: str) -> Injection:
        return Injection(fault, spec.name, spec.file_name, column, ids, count, description)

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
    specs = [spec for spec in (RECEIPT_ITEMS, REWARDS_LEDGER, RECEIPTS, APP_EVENTS)
             if any(f in requested and TARGETS[f][0] is spec for f in FAULT_CLASSES)]
    for spec in specs:
        path = out_dir / spec.file_name
        table = _read(path, spec)
        free = np.ones(table.num_rows, bool)
        for fault, target, _ in _TARGETS:
            if target is not spec or fault not in requested:
                continue
            rng = np.random.default_rng(
                np.random.SeedSequence([seed, 9_000, FAULT_CLASSES.index(fault)]))
            table, free, injections[fault] = _inject(
                fault, table, spec, free, rng, window.start, window.end)
            logger.info("fault %s: %s", fault, injections[fault].description)
        tmp = path.with_name(path.name + ".tmp")
        pacsv.write_csv(table, tmp)
        tmp.replace(path)
        counts[spec.name] = table.num_rows
    report = {"faults": [injections[f].as_json() for f in FAULT_CLASSES if f in injections]}
    (out_dir / "faults.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return counts
