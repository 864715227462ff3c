"""Volume anomalies: row counts per table against comparable earlier runs.

Comparable runs (the baseline) are successful runs with the same ``seed``, ``users`` and
``days`` and no injected faults (the as-of date may differ), newest first, at most
:data:`BASELINE_RUNS` of them. The seed is part of the key because the simulated app is
heavy-tailed: at 300 users the referrals table alone spans 140-543 rows across seeds
1-12, so a seed-independent band wide enough to stay quiet would catch nothing.

A table's count is an anomaly (a WARN, never a failure) when it is outside the
baseline's range widened by the tolerance::

    low  = min(baseline) * (1 - tolerance) - min_abs_change
    high = max(baseline) * (1 + tolerance) + min_abs_change

and always when a table that had rows is now empty or a table disappears. With the
same seed and parameters the generator is deterministic, so the baseline range is
one value and any real change shows up; a different as-of shifts the window by a few
per cent, well inside the band. Tolerance and the absolute floor are documented in
``docs/fault_detection.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from foundation.paths import HomePaths
from pipeline.records import manifest as manifest_io

BASELINE_RUNS = 5
TOLERANCE = 0.5
MIN_ABS_CHANGE = 25
LAYERS = ("raw", "marts")


@dataclass(frozen=True)
class VolumeCheck:
    layer: str
    table: str
    rows: int | None
    baseline_min: int | None
    baseline_max: int | None
    baseline_median: float | None
    lower: float | None
    upper: float | None
    change_pct: float | None
    status: str  # PASS | WARN
    message: str | None


@dataclass(frozen=True)
class VolumeReport:
    baseline_run_ids: tuple[str, ...]
    checks: tuple[VolumeCheck, ...]
    tolerance: float = TOLERANCE
    min_abs_change: int = MIN_ABS_CHANGE

    @property
    def anomalies(self) -> tuple[VolumeCheck, ...]:
        return tuple(c for c in self.checks if c.status != "PASS")

    def to_manifest(self) -> dict[str, Any]:
        return {
            "baseline_run_ids": list(self.baseline_run_ids),
            "tolerance": self.tolerance,
            "min_abs_change": self.min_abs_change,
            "summary": {"checked": len(self.checks), "warn": len(self.anomalies)},
            "anomalies": [asdict(c) for c in self.anomalies],
        }


def comparable(document: dict[str, Any], params: dict[str, Any]) -> bool:
    other = document.get("params") or {}
    return (document.get("status") == "success" and not other.get("faults")
            and other.get("seed") == params.get("seed")
            and other.get("users") == params.get("users")
            and other.get("days") == params.get("days"))


def baseline_runs(paths: HomePaths, run_id: str, params: dict[str, Any],
                  started_at: str | None = None,
                  limit: int = BASELINE_RUNS) -> list[dict[str, Any]]:
    """Newest-first comparable successful runs that started before this one."""
    earlier = manifest_io.successful_before(paths, run_id, started_at)
    return [doc for doc in earlier if comparable(doc, params)][:limit]


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1]
                                                            + ordered[middle]) / 2


def check_counts(current: dict[str, dict[str, int]], baselines: list[dict[str, Any]],
                 tolerance: float = TOLERANCE,
                 min_abs_change: int = MIN_ABS_CHANGE) -> VolumeReport:
    """Compare ``current`` row counts (layer -> table -> rows) with the baseline manifests."""
    checks: list[VolumeCheck] = []
    ids = tuple(doc["run_id"] for doc in baselines)
    if not baselines:
        return VolumeReport(ids, (), tolerance, min_abs_change)
    for layer in LAYERS:
        history: dict[str, list[int]] = {}
        for doc in baselines:
            for table, rows in ((doc.get("row_counts") or {}).get(layer) or {}).items():
                history.setdefault(table, []).append(int(rows))
        now = current.get(layer) or {}
        for table in sorted(history.keys() | now.keys()):
            values = history.get(table)
            rows = now.get(table)
            if not values:
                continue  # a new table: schema drift reports it, no volume history yet
            low_b, high_b, median = min(values), max(values), _median(values)
            lower = max(0.0, low_b * (1 - tolerance) - min_abs_change)
            upper = high_b * (1 + tolerance) + min_abs_change
            change = None if rows is None or median == 0 else round(
                (rows - median) / median * 100, 1)
            if rows is None:
                status, message = "WARN", (f"{layer}.{table} is missing; comparable runs had "
                                           f"{low_b:,}-{high_b:,} rows")
            elif rows == 0 and high_b > 0:
                status, message = "WARN", (f"{layer}.{table} is empty; comparable runs had "
                                           f"{low_b:,}-{high_b:,} rows")
            elif rows < lower or rows > upper:
                status, message = "WARN", (
                    f"{layer}.{table} has {rows:,} rows, {change:+.1f}% vs median {median:,.0f} "
                    f"of {len(values)} comparable run(s); expected {lower:,.0f}-{upper:,.0f}")
            else:
                status, message = "PASS", None
            checks.append(VolumeCheck(layer, table, rows, low_b, high_b, median, lower, upper,
                                      change, status, message))
    return VolumeReport(ids, tuple(checks), tolerance, min_abs_change)


def ops_rows(run_id: str, report: VolumeReport) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``ops.volume_anomalies`` for this report's checks."""
    return {"volume_anomalies": [
        {"run_id": run_id, "layer": c.layer, "table_name": c.table, "row_count": c.rows,
         "baseline_min": c.baseline_min, "baseline_max": c.baseline_max,
         "baseline_median": c.baseline_median, "lower_bound": c.lower, "upper_bound": c.upper,
         "change_pct": c.change_pct, "baseline_runs": ",".join(report.baseline_run_ids),
         "status": c.status, "message": c.message} for c in report.checks]}
