"""The run's flagged metric anomalies, grouped by root cause, for the run's health.

The monitoring layer scores every metric series in dbt (``monitoring_metrics_scored``,
published as ``marts.mart_metric_anomalies``). One fault flags many series: an Android
outage lowers ``app_events.row_count`` overall, for Android, for every event name and the
DAU built on them. A reader wants one line per cause, so flagged rows are grouped here by
the table (or business series) they measure and, within it, by incident (a run of
consecutive flagged days), and each group is told by the slice that
explains it best: the overall series unless one dimension value moved much further (then
the outage is that platform's, not everyone's). The health model
(:mod:`pipeline.checks.health`) turns each cause into a warning finding, and folds the
causes on models downstream of a flagged source table into it. An anomaly never fails a
run: it is a warning, whatever its size.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from foundation.source_tables import TABLES_BY_NAME

#: the published mart of the scored detection period
ANOMALIES_RELATION = "marts.mart_metric_anomalies"
#: business series -> the dbt model whose definition they use (the anomaly's subject)
SERIES_MODELS = {
    "dau": "int_user_activity_daily",
    "receipts_accepted": "fct_receipts", "receipts_rejected": "fct_receipts",
    "receipt_rejection_rate": "fct_receipts",
    "dollars_earned": "fct_rewards_ledger", "dollars_redeemed": "fct_rewards_ledger",
    "invites_sent": "fct_referrals",
}
#: which measure tells a table's cause first when several of its series are flagged:
#: a replay raises the row count too, an outage widens the gaps too
MEASURE_ORDER = ("duplicate_share", "null_share", "row_count", "sum", "mean",
                 "max_gap_hours")
#: a dimension slice explains a cause instead of the whole table when it moved this many
#: times further than the whole table did
SLICE_FACTOR = 1.5


@dataclass(frozen=True)
class FlaggedDay:
    """One flagged row of the anomalies mart."""

    metric: str
    dimension: str
    dimension_value: str
    day: dt.date
    actual: float | None
    expected: float | None
    score: float | None
    reason: str

    @property
    def change(self) -> float | None:
        """actual / expected - 1 (None when not defined)."""
        if self.actual is None or not self.expected:
            return None
        return self.actual / self.expected - 1.0


@dataclass(frozen=True)
class AnomalyCause:
    """One root cause: the table or series it is on, the slice and days that explain it."""

    table: str
    metric: str
    dimension: str
    dimension_value: str
    days: tuple[dt.date, ...]
    actual: float | None
    expected: float | None
    change: float | None
    score: float | None
    reason: str
    #: flagged rows (series x days) this cause explains
    flagged_rows: int

    @property
    def is_source(self) -> bool:
        return self.table in TABLES_BY_NAME

    @property
    def column(self) -> str | None:
        """The column of a per-column metric (``<table>.<column>.null_share``)."""
        parts = self.metric.split(".")
        return parts[1] if len(parts) == 3 else None

    def describe(self) -> str:
        """In words, e.g. ``app_events.row_count for platform android -94 % on 2026-11-29``."""
        where = ("" if self.dimension == "all"
                 else f" for {self.dimension} {self.dimension_value}")
        change = "" if self.change is None else f" {self.change * 100:+.0f} %".replace(
            "+-", "-")
        return f"{self.metric}{where}{change} {_days_in_words(self.days)}"

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "metric": self.metric, "dimension": self.dimension,
                "dimension_value": self.dimension_value,
                "days": [d.isoformat() for d in self.days], "actual": self.actual,
                "expected": self.expected, "change": self.change, "score": self.score,
                "reason": self.reason, "flagged_rows": self.flagged_rows,
                "description": self.describe()}


def _days_in_words(days: tuple[dt.date, ...]) -> str:
    if len(days) == 1:
        return f"on {days[0].isoformat()}"
    consecutive = all((b - a).days == 1 for a, b in itertools.pairwise(days))
    if consecutive:
        return f"from {days[0].isoformat()} to {days[-1].isoformat()}"
    return "on " + ", ".join(d.isoformat() for d in days)


def table_of(metric: str) -> str:
    """The source table (``app_events.row_count``) or business series (``dau``) measured."""
    return metric.split(".", 1)[0]


def _measure_rank(metric: str) -> int:
    measure = metric.rsplit(".", 1)[-1]
    return MEASURE_ORDER.index(measure) if measure in MEASURE_ORDER else len(MEASURE_ORDER)


def _magnitude(rows: Iterable[FlaggedDay]) -> float:
    """How far a slice moved: its largest |change| over its flagged days (|score| when no
    change is defined, e.g. from an expected 0)."""
    return max((abs(r.change) if r.change is not None else abs(r.score or 0.0))
               for r in rows)


def _cause(table: str, rows: list[FlaggedDay]) -> AnomalyCause:
    """The slice that explains one table's flagged rows, and its worst day."""
    by_series: dict[tuple[str, str, str], list[FlaggedDay]] = {}
    for row in rows:
        by_series.setdefault((row.metric, row.dimension, row.dimension_value), []).append(row)
    best_measure = min(_measure_rank(metric) for metric, _d, _v in by_series)
    candidates = {key: series for key, series in by_series.items()
                  if _measure_rank(key[0]) == best_measure}
    overall = [key for key in candidates if key[1] == "all"]
    slices = [key for key in candidates if key[1] != "all"]
    biggest_slice = max(slices, key=lambda k: (_magnitude(candidates[k]), k), default=None)
    if overall and (biggest_slice is None or _magnitude(candidates[biggest_slice])
                    < SLICE_FACTOR * _magnitude(candidates[overall[0]])):
        lead_key = overall[0]
    elif biggest_slice is not None:
        lead_key = biggest_slice
    else:
        lead_key = overall[0]
    lead_rows = candidates[lead_key]
    worst = max(lead_rows, key=lambda r: (abs(r.score or 0.0), r.day))
    return AnomalyCause(
        table=table, metric=lead_key[0], dimension=lead_key[1], dimension_value=lead_key[2],
        days=tuple(sorted({r.day for r in lead_rows})), actual=worst.actual,
        expected=worst.expected, change=worst.change, score=worst.score,
        reason=worst.reason, flagged_rows=len(rows))


def incidents(rows: list[FlaggedDay]) -> list[list[FlaggedDay]]:
    """One table's flagged rows split where its flagged days break: each run of
    consecutive days is one incident (a two-day rejection spike, a three-day unit change),
    so a null burst on the 29th and an Android outage five days later are two causes, not
    one told by whichever measure ranks first."""
    days = sorted({row.day for row in rows})
    starts = [day for previous, day in zip([None, *days[:-1]], days, strict=True)
              if previous is None or (day - previous).days > 1]
    groups: dict[dt.date, list[FlaggedDay]] = {start: [] for start in starts}
    for row in rows:
        groups[max(start for start in starts if start <= row.day)].append(row)
    return [groups[start] for start in starts]


def group_causes(rows: Iterable[FlaggedDay]) -> list[AnomalyCause]:
    """One cause per incident (run of consecutive flagged days) of each table or business
    series with flagged rows, largest first."""
    by_table: dict[str, list[FlaggedDay]] = {}
    for row in rows:
        by_table.setdefault(table_of(row.metric), []).append(row)
    causes = [_cause(table, incident) for table, table_rows in sorted(by_table.items())
              for incident in incidents(table_rows)]
    return sorted(causes, key=lambda c: (not c.is_source, -abs(c.score or 0.0), c.table,
                                         c.days))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def read_flagged(con: duckdb.DuckDBPyConnection) -> list[FlaggedDay]:
    """The flagged rows of the anomalies mart (none when the run has no such mart)."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = ?",
        ANOMALIES_RELATION.split(".")).fetchone()
    if not exists or not exists[0]:
        return []
    records = con.execute(
        "select metric, dimension, dimension_value, metric_date, actual, expected, score, "
        "reason from marts.mart_metric_anomalies where is_flagged "
        "order by metric, dimension, dimension_value, metric_date").fetchall()
    return [FlaggedDay(metric=str(m), dimension=str(d), dimension_value=str(v),
                       day=day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)),
                       actual=_number(a), expected=_number(e), score=_number(s),
                       reason=str(r or ""))
            for m, d, v, day, a, e, s, r in records]


def assess_snapshot(db_path: Path) -> list[AnomalyCause]:
    """The causes of the flagged anomalies in the run's snapshot."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        return group_causes(read_flagged(con))


def to_manifest(causes: Iterable[AnomalyCause], flagged_rows: int) -> dict[str, Any]:
    """The manifest's ``metric_anomalies`` section."""
    listed = [c.to_json() for c in causes]
    return {"summary": {"causes": len(listed), "flagged_rows": flagged_rows},
            "causes": listed}


def causes_from_manifest(section: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The causes a manifest recorded (an older manifest has none)."""
    causes = (section or {}).get("causes") or ()
    return [c for c in causes if isinstance(c, Mapping) and c.get("table")]
