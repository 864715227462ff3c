"""Home's health board: what in a run's manifest needs a look, and which page explains it.

Pure functions of the manifest (no Streamlit), so the rules are unit-tested: a run that
succeeded with contract WARNs, dbt warnings, schema changes, volume anomalies or injected
faults is not shown as a plain "SUCCESS".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pipeline.records.pii_key import change_warning

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class HealthItem:
    """One thing to look at: how bad, a sentence, and the page (url path) that explains it."""

    severity: Severity
    text: str
    page: str


@dataclass(frozen=True)
class Health:
    """The headline status of a run and the items behind it, worst first."""

    status: str
    severity: Severity | Literal["ok"]
    items: tuple[HealthItem, ...]


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _dict(value: Any) -> dict[str, Any]:
    """A manifest section, or {} when it is missing or malformed (never a crash on Home)."""
    return value if isinstance(value, dict) else {}


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def health_items(manifest: dict[str, Any]) -> list[HealthItem]:
    """Every warning and failure the manifest records, each with the page that explains it."""
    items: list[HealthItem] = []
    status = manifest.get("status")
    if status not in (None, "success"):
        items.append(HealthItem("error", f"Run {status} at step "
                                f"{manifest.get('failed_step') or '-'}: "
                                f"{manifest.get('error') or 'no error recorded'}",
                                "pipeline_ops"))
    summary = _dict(_dict(manifest.get("contracts")).get("summary"))
    fails, warns = _int(summary.get("fail")), _int(summary.get("warn"))
    if fails:
        items.append(HealthItem("error", f"{_plural(fails, 'contract check')} FAIL",
                                "data_contracts"))
    if warns:
        items.append(HealthItem("warning", f"{_plural(warns, 'contract check')} WARN",
                                "data_contracts"))
    dbt = _dict(manifest.get("dbt"))
    errors, dbt_warns = _int(dbt.get("error")), _int(dbt.get("warn"))
    if errors:
        items.append(HealthItem("error", f"{_plural(errors, 'dbt node')} in error",
                                "dbt_tests"))
    if dbt_warns:
        items.append(HealthItem("warning", f"{_plural(dbt_warns, 'dbt test')} warning",
                                "dbt_tests"))
    stale = [r for r in _dict(manifest.get("freshness")).get("results") or []
             if isinstance(r, dict)
             and str(r.get("status")).lower() in ("warn", "error", "runtime error")]
    if stale:
        items.append(HealthItem("warning", f"{_plural(len(stale), 'source')} not fresh "
                                "(dbt source freshness)", "dbt_tests"))
    changes = _int(_dict(_dict(manifest.get("schema_drift")).get("summary")).get("changes"))
    if changes:
        items.append(HealthItem("warning", f"{_plural(changes, 'schema change')} since the "
                                "previous run", "schema_drift"))
    anomalies = _dict(manifest.get("anomalies")).get("anomalies") or []
    if anomalies:
        word = "volume anomaly" if len(anomalies) == 1 else "volume anomalies"
        items.append(HealthItem("warning", f"{len(anomalies):,} {word} against earlier runs",
                                "pipeline_ops"))
    key_changed = change_warning(manifest)
    if key_changed:
        items.append(HealthItem("warning", key_changed, "pipeline_ops"))
    faults = _dict(manifest.get("params")).get("faults") or []
    if faults:
        items.append(HealthItem("info", "Injected faults: " + ", ".join(map(str, faults)),
                                "pipeline_ops"))
    warnings = manifest.get("warnings") or []
    if warnings:
        items.append(HealthItem("info", f"{_plural(len(warnings), 'pipeline warning')}",
                                "pipeline_ops"))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(items, key=lambda item: order[item.severity])


def run_health(manifest: dict[str, Any]) -> Health:
    """The status line: the run's outcome, qualified by what needs a look."""
    items = tuple(health_items(manifest))
    outcome = str(manifest.get("status") or "unknown").upper()
    errors = sum(item.severity == "error" for item in items)
    warnings = sum(item.severity == "warning" for item in items)
    if outcome != "SUCCESS":
        return Health(outcome, "error", items)
    if errors:
        return Health("SUCCESS with failures", "error", items)
    if warnings:
        return Health("SUCCESS with warnings", "warning", items)
    if items:
        return Health("SUCCESS (see notes)", "info", items)
    return Health("HEALTHY", "ok", items)


@dataclass(frozen=True)
class Delta:
    """A KPI change as ``st.metric`` takes it: text, colour rule and arrow."""

    text: str | None
    color: Literal["normal", "inverse", "off"]
    arrow: Literal["auto", "off"]


def kpi_delta(now: float | None, before: float | None, *, digits: int = 0,
              prefix: str = "", up_is_good: bool | None = True,
              percent: bool = False) -> Delta:
    """The change ``now - before``: grey with no arrow at zero; green when it moves the
    good way (``up_is_good=False`` for liability, None for neutral metrics)."""
    if now is None or before is None:
        return Delta(None, "off", "off")
    change = now - before
    scale = 100 if percent else 1
    text = f"{change * scale:+,.{digits}f}{' pp' if percent else ''}"
    if prefix:
        text = text[0] + prefix + text[1:]
    if round(change * scale, digits) == 0:
        return Delta(text.replace("+", "±").replace("-", "±"), "off", "off")
    if up_is_good is None:
        return Delta(text, "off", "auto")
    return Delta(text, "normal" if up_is_good else "inverse", "auto")


def engine_label(manifest: dict[str, Any]) -> str:
    """The engine that built a run, with its version when it is not the default DuckDB
    (runs from before engines were recorded were all built on DuckDB)."""
    engine = _dict(manifest.get("engine"))
    if engine.get("name") == "spark":
        return f"Apache Spark {engine.get('spark') or ''}".strip()
    return "DuckDB"
