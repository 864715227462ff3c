"""What a run report shows, gathered from the run's manifest and (when it has one) snapshot.

Kept apart from the HTML (:mod:`pipeline.evidence.report_html`) so a test can compare the
figures with the snapshot's without parsing markup. The stakeholder panels reuse the
dashboards' own SQL and definitions (``foundation/mart_sql.py``,
``foundation/metric_definitions.py``): a report never defines a metric of its own.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from foundation.mart_sql import KPI_SQL, STAKEHOLDER_CHARTS, STAKEHOLDER_KPIS
from foundation.metric_definitions import CAPTIONS
from pipeline.checks.health import RunHealth
from pipeline.records.run_manifest import RunManifest

#: the widest date filter: a chart covers every row its mart has
ALL_DATES = (dt.date(1900, 1, 1), dt.date(9999, 12, 31))
#: failing rows shown per dbt test (the manifest keeps at most this many)
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Kpi:
    """One headline figure: its label, value (None when the mart is missing or empty),
    the value as shown, and its definition."""

    name: str
    label: str
    value: float | None
    shown: str
    definition: str


@dataclass(frozen=True)
class Chart:
    """One chart's data: x values and one series per y column, with its definition."""

    x_column: str
    x: tuple[str, ...]
    series: dict[str, tuple[float | None, ...]]
    definition: str


@dataclass(frozen=True)
class Panel:
    """One stakeholder's headline figures and chart (none when the run has no snapshot)."""

    stakeholder: str
    kpis: tuple[Kpi, ...]
    chart: Chart | None
    unavailable: str | None = None


@dataclass(frozen=True)
class ReportData:
    """Everything a run report shows, as plain values."""

    manifest: RunManifest
    health: RunHealth | None
    panels: tuple[Panel, ...]
    contract_issues: tuple[dict[str, Any], ...] = ()
    dbt_failures: tuple[dict[str, Any], ...] = ()
    schema_changes: tuple[dict[str, Any], ...] = ()
    anomalies: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, decimal.Decimal | int | float):
        return float(value)
    return None


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    try:
        row = con.execute(sql).fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None else row[0]


def _chart(con: duckdb.DuckDBPyConnection, stakeholder: str) -> Chart | None:
    sql, x_column, y_columns, caption = STAKEHOLDER_CHARTS[stakeholder]
    try:
        cursor = con.execute(sql, list(ALL_DATES))
    except duckdb.CatalogException:
        return None
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    x = tuple(_text(row[columns.index(x_column)]) for row in rows)
    series = {y: tuple(_number(row[columns.index(y)]) for row in rows) for y in y_columns}
    return Chart(x_column, x, series, CAPTIONS[caption])


def stakeholder_panels(snapshot: Path | None) -> tuple[Panel, ...]:
    """Product, Marketing and Finance: headline figures and one chart each, read from the
    snapshot with the dashboards' SQL; without a snapshot each panel says why."""
    if snapshot is None or not snapshot.exists():
        reason = "the run left no snapshot (it did not publish), so it has no figures"
        return tuple(Panel(name, (), None, reason) for name in STAKEHOLDER_KPIS)
    panels = []
    with duckdb.connect(str(snapshot), read_only=True) as con:
        for stakeholder, kpis in STAKEHOLDER_KPIS.items():
            figures = []
            for name, label, caption, template in kpis:
                value = _number(_scalar(con, KPI_SQL[name]))
                shown = "n/a" if value is None else template.format(value)
                figures.append(Kpi(name, label, value, shown, CAPTIONS[caption]))
            panels.append(Panel(stakeholder, tuple(figures), _chart(con, stakeholder)))
    return tuple(panels)


def _contract_order(result: dict[str, Any]) -> tuple[int, str]:
    return (0 if result.get("status") == "FAIL" else 1, str(result.get("contract_id")))


def collect(manifest: RunManifest, snapshot: Path | None) -> ReportData:
    """The report's content for ``manifest``'s run; ``snapshot`` is its DuckDB file (the
    ``.building`` one while the run is still on, None when it left none)."""
    contracts = sorted((dict(r) for r in manifest.contracts.get("failing") or ()),
                       key=_contract_order)
    failures = []
    for failure in manifest.dbt.failures:
        entry = dict(failure)
        entry["sample_rows"] = list(entry.get("sample_rows") or ())[:SAMPLE_ROWS]
        failures.append(entry)
    failures.sort(key=lambda f: (0 if f.get("status") in ("error", "fail") else 1,
                                 str(f.get("unique_id"))))
    return ReportData(
        manifest=manifest,
        health=RunHealth.from_json(manifest.health),
        panels=stakeholder_panels(snapshot),
        contract_issues=tuple(contracts),
        dbt_failures=tuple(failures),
        schema_changes=tuple(manifest.schema_drift.get("changes") or ()),
        anomalies=tuple(a for a in manifest.anomalies.get("anomalies") or ()
                        if str(a.get("status", "warn")).lower() != "pass"),
    )
