"""The signals of a run: everything its manifest reports, each placed on the dbt node it is
about (its *subject*) and named by what is wrong (its *category*).

The health model (:mod:`pipeline.checks.health`) groups them by root cause. Pipeline
warnings that merely repeat another signal (a contract WARN, a dbt warning, a schema
change, a volume anomaly) are not counted twice: those steps' warnings are skipped here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from foundation.source_tables import TABLES_BY_NAME
from pipeline.checks.dbt_graph import PROJECT, DbtGraph
from pipeline.checks.metric_anomalies import SERIES_MODELS, causes_from_manifest
from pipeline.records.run_manifest import AFTER_PUBLISH_STEPS, RunManifest

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: tuple[Severity, ...] = ("error", "warning", "info")
#: the subject of a signal about the run or the home rather than about data
RUN_SUBJECT = "run"

#: contract check types -> category
_CONTRACT_CATEGORIES = {
    "field_primary_key_unique": "duplicate keys", "field_unique": "duplicate keys",
    "field_required": "missing values", "field_relationships": "orphaned references",
    "row_count": "too few rows", "servicelevel_freshness": "late load",
    "event_time_freshness": "stale data", "field_is_present": "schema change",
    "field_type": "schema change", "field_physical_type": "schema change",
}
#: named quality checks (the part after ``<table>_``) -> category
_QUALITY_CATEGORIES = {
    "no_future_rows": "rows after the as-of date",
    "no_rows_before_window": "rows before the history window",
    "total_cents_not_negative": "negative amounts",
}
#: generic dbt tests -> category
_TEST_CATEGORIES = {
    "unique": "duplicate keys", "not_null": "missing values",
    "relationships": "orphaned references", "accepted_range": "invalid values",
    "accepted_values": "invalid values", "expression_is_true": "invalid values",
    "row_count_between": "too few rows", "recency": "stale data",
}
#: categories about one column: the finding names it
COLUMN_CATEGORIES = frozenset({"duplicate keys", "missing values", "orphaned references",
                               "negative amounts", "invalid values"})
_LOADER_NO_ROWS = re.compile(r"^(?P<file>[\w.]+): no rows ")
_LOADER_REJECTED = re.compile(r"^(?P<file>[\w.]+): (?P<count>[\d,]+) of [\d,]+ rows rejected")
_SKIPPED_STEPS = frozenset({"contracts", "dbt_artifacts", "schema_drift", "volume_anomalies",
                            "metric_anomalies",
                            "source_freshness", "dbt_build"})


@dataclass(frozen=True)
class AnomalyIncident:
    """One anomaly incident of a table: a metric's slice flagged on a run of consecutive
    days (metric_anomalies splits a table's flagged days so). A table may have several,
    each its own cause and finding."""

    metric: str
    dimension: str
    value: str
    first_day: str

    @property
    def ref(self) -> str:
        """The incident as a signal's ref and a finding id's tail (survives a URL)."""
        return f"{self.metric}|{self.dimension}|{self.value}|{self.first_day}"


@dataclass(frozen=True)
class Signal:
    """One thing one check reported, placed on its subject and category."""

    kind: str
    subject: str
    category: str
    severity: Severity
    text: str
    column: str | None = None
    measured: str | None = None
    threshold: str | None = None
    owner: str | None = None
    #: the check's own name (a contract check, a dbt test id, ...)
    ref: str = ""
    #: the other nodes a check reads (a singular dbt test over several models)
    also: tuple[str, ...] = ()
    #: the incident an anomaly signal reports (None for other kinds)
    incident: AnomalyIncident | None = None

    @property
    def subjects(self) -> tuple[str, ...]:
        return (self.subject, *self.also)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "category": self.category,
                "severity": self.severity, "text": self.text, "column": self.column,
                "measured": self.measured, "threshold": self.threshold,
                "owner": self.owner, "ref": self.ref, "also": list(self.also)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Signal:
        fields = {key: value.get(key) for key in cls.__dataclass_fields__ if key != "also"}
        return cls(**fields, also=tuple(value.get("also") or ()))


def source_node(table: str) -> str:
    """The dbt source node of a raw table (the system comes from the source declaration)."""
    declared = TABLES_BY_NAME.get(table)
    system = declared.system if declared else "unknown"
    return f"source.{PROJECT}.{system}.{table}"


def model_node(name: str) -> str:
    return f"model.{PROJECT}.{name}"


def layer_node(layer: str, table: str) -> str:
    return source_node(table) if layer in ("raw", "source") else model_node(table)


def label(subject: str) -> str:
    """How a subject is named on screen: the table, and where it sits."""
    if subject == RUN_SUBJECT:
        return "the run"
    parts = subject.split(".")
    if parts[0] == "source":
        return f"{parts[-1]} (raw.{parts[-1]})"
    return parts[-1]


def _contract_signals(manifest: RunManifest) -> list[Signal]:
    signals = []
    for result in manifest.contracts.get("failing") or ():
        table, layer = str(result.get("table")), str(result.get("layer"))
        check = str(result.get("check"))
        category = _CONTRACT_CATEGORIES.get(str(result.get("check_type")))
        if category is None:
            suffix = check.removeprefix(f"{layer}_").removeprefix(f"{table}_")
            suffix = suffix.removeprefix(f"{table}_")
            category = _QUALITY_CATEGORIES.get(suffix, suffix.replace("_", " "))
        column = result.get("column")
        where = f"{layer}.{table}" + (f".{column}" if column else "")
        measured, threshold = result.get("measured"), result.get("threshold")
        signals.append(Signal(
            "contract", layer_node(layer, table), category,
            "error" if result.get("status") == "FAIL" else "warning",
            f"contract {result.get('status')}: {where} {check} (measured {measured}, "
            f"expected {threshold})", column, measured, threshold, result.get("owner"), check))
    return signals


def _test_category(test_id: str, generic: str | None) -> str:
    if generic == "unit_test":
        return "unit test"
    if generic in _TEST_CATEGORIES:
        return _TEST_CATEGORIES[generic]
    name = test_id.split(".")[2] if test_id.count(".") >= 2 else test_id
    return f"rule: {name.removeprefix('assert_').replace('_', ' ')}"


def _dbt_signals(manifest: RunManifest, graph: DbtGraph) -> list[Signal]:
    signals = []
    for failure in manifest.dbt.failures:
        unique_id = str(failure.get("unique_id"))
        status = str(failure.get("status"))
        subjects, generic = graph.tests.get(unique_id, ((), None))
        if not unique_id.startswith(("test.", "unit_test.")):
            subjects, generic = (unique_id,), "model"  # a model that failed to build
        category = ("model failed" if generic == "model"
                    else _test_category(unique_id, generic))
        rows = failure.get("failures")
        name = unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id
        text = f"dbt {status}: {name}" + (f" ({rows} failing rows)" if rows is not None else "")
        subjects = subjects or (RUN_SUBJECT,)
        signals.append(Signal("dbt_test", subjects[0], category,
                              "warning" if status == "warn" else "error", text,
                              measured=None if rows is None else str(rows),
                              threshold="0" if rows is not None else None, ref=unique_id,
                              also=tuple(subjects[1:])))
    return signals


def _freshness_signals(manifest: RunManifest) -> list[Signal]:
    signals = []
    for result in manifest.freshness.get("results") or ():
        status = str(result.get("status"))
        if status in ("pass", "None", "none"):
            continue
        unique_id = str(result.get("unique_id"))
        age = result.get("age_s")
        measured = None if not isinstance(age, int | float) else f"{age / 3600:.2f} h"
        signals.append(Signal("freshness", unique_id, "late load",
                              "error" if status in ("error", "runtime error") else "warning",
                              f"source freshness {status}: {unique_id.split('.')[-1]}"
                              + (f" loaded {measured} ago" if measured else " (no rows)"),
                              measured=measured, ref=unique_id))
    return signals


def _schema_signals(manifest: RunManifest) -> list[Signal]:
    signals = []
    for change in manifest.schema_drift.get("changes") or ():
        layer, schema = str(change.get("layer")), str(change.get("schema"))
        table = str(change.get("table"))
        if layer == "source" or schema == "raw":
            subject = source_node(table)
        elif schema in ("staging", "intermediate", "marts"):
            subject = model_node(table)
        else:
            subject = f"{schema}.{table}"
        signals.append(Signal("schema", subject, "schema change", "warning",
                              f"schema change: {change.get('detail')}", change.get("column"),
                              ref=str(change.get("change"))))
    return signals


def _volume_signals(manifest: RunManifest) -> list[Signal]:
    signals = []
    for anomaly in manifest.anomalies.get("anomalies") or ():
        layer, table = str(anomaly.get("layer")), str(anomaly.get("table"))
        lower, upper = anomaly.get("lower"), anomaly.get("upper")
        expected = (f"{lower:,.0f}–{upper:,.0f}" if isinstance(lower, int | float)
                    and isinstance(upper, int | float) else None)
        rows = anomaly.get("rows")
        signals.append(Signal("volume", layer_node(layer, table), "row count", "warning",
                              f"volume anomaly: {layer}.{table} has "
                              f"{rows if rows is not None else '?'} rows", None,
                              None if rows is None else f"{rows:,}" if isinstance(rows, int)
                              else str(rows), expected, ref=f"{layer}.{table}"))
    return signals


def _metric_anomaly_signals(manifest: RunManifest) -> list[Signal]:
    """One warning per root cause of the flagged metric anomalies, on the source table or
    the model whose definition the series uses."""
    signals = []
    for cause in causes_from_manifest(manifest.metric_anomalies):
        table = str(cause["table"])
        if table in TABLES_BY_NAME:
            subject = source_node(table)
        elif table in SERIES_MODELS:
            subject = model_node(SERIES_MODELS[table])
        else:
            continue
        metric = str(cause.get("metric") or table)
        parts = metric.split(".")
        incident = AnomalyIncident(metric, str(cause.get("dimension")),
                                   str(cause.get("dimension_value")),
                                   str((cause.get("days") or [""])[0]))
        signals.append(Signal(
            "anomaly", subject, "anomaly", "warning",
            f"{label(subject)}: {cause.get('description') or metric}",
            parts[1] if len(parts) == 3 else None,
            _amount(cause.get("actual")), _amount(cause.get("expected")),
            ref=incident.ref, incident=incident))
    return signals


def _amount(value: Any) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _table_of_file(file_name: str) -> str | None:
    stem = file_name.removesuffix(".csv")
    return stem if stem in TABLES_BY_NAME else None


def _pipeline_signals(manifest: RunManifest, pii_change: str | None) -> list[Signal]:
    """Warnings that no other signal already reports: the loader's, the sweep's, ..."""
    signals = []
    for warning in manifest.warnings:
        if warning.step in _SKIPPED_STEPS or warning.message.startswith("schema drift"):
            continue
        message = warning.message
        if pii_change is not None and message == pii_change:
            signals.append(Signal("pipeline", source_node("users"), "pii key changed",
                                  "warning", message, ref="pii_key"))
            continue
        if (match := _LOADER_NO_ROWS.match(message)) and _table_of_file(match["file"]):
            signals.append(Signal("load", source_node(_table_of_file(match["file"])),
                                  "too few rows", "warning", message, measured="0",
                                  ref=match["file"]))
            continue
        if (match := _LOADER_REJECTED.match(message)) and _table_of_file(match["file"]):
            signals.append(Signal("load", source_node(_table_of_file(match["file"])),
                                  "rejected rows", "warning", message,
                                  measured=match["count"], threshold="0", ref=match["file"]))
            continue
        if "schema drift in" in message:
            continue  # the drift step reports it
        if warning.step in AFTER_PUBLISH_STEPS:
            # published here, but not where other machines read it: an error of the run
            signals.append(Signal("pipeline", RUN_SUBJECT, "not archived", "error", message,
                                  ref=warning.step))
            continue
        signals.append(Signal("pipeline", RUN_SUBJECT, "pipeline warning", "warning",
                              message, ref=warning.step or ""))
    return signals


def _run_signals(manifest: RunManifest) -> list[Signal]:
    if manifest.status in ("running", "success"):
        return []
    failed_table = manifest.ingestion.get("failed_table")
    text = (f"run {manifest.status} at step {manifest.failed_step or '-'}: "
            f"{manifest.error or 'no error recorded'}")
    if manifest.failed_step == "load_raw" and not isinstance(failed_table, str):
        # the loader names the file it refused first: "app_events.csv: missing ..."
        failed_table = _table_of_file((manifest.error or "").split(":", 1)[0])
    if manifest.failed_step == "load_raw" and isinstance(failed_table, str):
        return [Signal("load", source_node(failed_table), "load failed", "error", text,
                       ref="load_raw")]
    return [Signal("run", RUN_SUBJECT, f"run {manifest.status}", "error", text,
                   ref=manifest.failed_step or "")]


def collect_signals(manifest: RunManifest, graph: DbtGraph, *,
                    pii_change: str | None = None) -> list[Signal]:
    """Every signal the run's manifest holds, each on its subject and category."""
    return [*_run_signals(manifest), *_contract_signals(manifest),
            *_freshness_signals(manifest), *_schema_signals(manifest),
            *_dbt_signals(manifest, graph), *_volume_signals(manifest),
            *_metric_anomaly_signals(manifest),
            *_pipeline_signals(manifest, pii_change)]
