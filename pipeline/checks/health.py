"""A run's health: every signal of the run, grouped by root cause, propagated down lineage.

The run's checks each report in their own terms: a contract check per table and layer, a
dbt test per node, source freshness per source, schema changes per column, volume per
table, the loader's and the pipeline's warnings. One stale export shows up as a contract
WARN on raw, staging and the mart, a dbt recency warning and a pipeline warning for each;
counted as they come, one fault is five problems. This module turns them into
**findings, one per root cause**:

1. every signal is placed on a *subject* (the dbt source or model it is about) with a
   *category* (what is wrong: stale data, duplicate keys, a schema change, ...);
2. signals on the same subject and category are one candidate, and a candidate on a
   subject downstream of another's, of the same category or made only of downstream
   symptoms (dbt tests, volumes), is a *consequence* of it, not a finding of its own;
3. each finding lists what it affects downstream: every model, mart and page
   (exposure) its subject feeds, from the run's own dbt manifest.

The result (:class:`RunHealth`) is stored with the run (the manifest's ``health`` section
and ``ops.run_findings`` / ``ops.finding_impacts`` in the snapshot): every count a reader
sees, and every caution on a figure, comes from it. The run's status is one word:
``failed`` when it did not publish, ``warnings`` when it has a finding of warning or
error severity, else ``healthy``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from foundation.paths import HomePaths, RunPaths
from pipeline.checks import contracts
from pipeline.checks.dbt_graph import DbtGraph
from pipeline.checks.health_signals import (
    COLUMN_CATEGORIES,
    RUN_SUBJECT,
    SEVERITY_ORDER,
    AnomalyIncident,
    Severity,
    Signal,
    collect_signals,
    label,
    layer_node,
)
from pipeline.records import pii_key
from pipeline.records.run_manifest import RunManifest
from pipeline.transform import artifacts as dbt_artifacts

HealthStatus = Literal["healthy", "warnings", "failed"]

#: page (url path) that explains each kind of signal
PAGE_OF_SOURCE = {"contract": "data_contracts", "dbt_test": "dbt_tests",
                  "freshness": "dbt_tests", "schema": "schema_drift",
                  "volume": "pipeline_ops", "anomaly": "anomalies", "load": "pipeline_ops",
                  "pipeline": "pipeline_ops", "run": "pipeline_ops"}
#: which signal leads a finding (gives its title and link) when several share it
SOURCE_PRIORITY = ("run", "load", "contract", "freshness", "schema", "anomaly", "dbt_test",
                   "volume", "pipeline")
#: signal kinds that are symptoms: downstream of a finding they are its consequence
SYMPTOMS = frozenset({"dbt_test", "volume", "anomaly"})

#: what each category of problem may do to figures built on it (the caution's reason)
CONSEQUENCE = {
    "stale data": "the latest days may be missing from figures built on it",
    "late load": "figures built on it may be out of date",
    "duplicate keys": "counts and sums built on it may be inflated",
    "missing values": "rows with missing values may be dropped from figures",
    "orphaned references": "joins on it may drop rows",
    "too few rows": "figures built on it may be understated",
    "rejected rows": "rows rejected at load are missing from figures",
    "rows after the as-of date": "figures may count events that have not happened",
    "rows before the history window": "early figures may include stray rows",
    "negative amounts": "sums built on it may be off",
    "invalid values": "figures built on it may be off",
    "schema change": "its columns differ from the previous run's",
    "row count": "its volume differs from comparable runs",
    "load failed": "nothing was loaded",
    "pii key changed": "hashed emails and phones no longer join with earlier runs",
    "not archived": "machines serving from the archive still show the previous run",
    "anomaly": "figures built on it may be off on the days flagged",
}


@dataclass(frozen=True)
class Finding:
    """One root cause: what is wrong, where, how badly, who owns it, what it affects."""

    finding_id: str
    severity: Severity
    category: str
    subject: str
    subject_label: str
    title: str
    measured: str | None
    threshold: str | None
    owner: str | None
    page: str
    evidence: tuple[Signal, ...]
    consequences: tuple[Signal, ...] = ()
    #: relations (``schema.table``) and pages (``exposure:<name>``) downstream of it
    impacted: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """The one line a caution on an affected figure shows."""
        effect = CONSEQUENCE.get(self.category)
        return f"{self.title}: {effect}" if effect else self.title

    @property
    def signal_count(self) -> int:
        return len(self.evidence) + len(self.consequences)

    def to_json(self) -> dict[str, Any]:
        return {"finding_id": self.finding_id, "severity": self.severity,
                "category": self.category, "subject": self.subject,
                "subject_label": self.subject_label, "title": self.title,
                "reason": self.reason, "measured": self.measured,
                "threshold": self.threshold, "owner": self.owner, "page": self.page,
                "evidence": [s.to_json() for s in self.evidence],
                "consequences": [s.to_json() for s in self.consequences],
                "impacted": list(self.impacted)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Finding:
        return cls(
            finding_id=str(value["finding_id"]), severity=value["severity"],
            category=str(value["category"]), subject=str(value["subject"]),
            subject_label=str(value.get("subject_label") or value["subject"]),
            title=str(value["title"]), measured=value.get("measured"),
            threshold=value.get("threshold"), owner=value.get("owner"),
            page=str(value.get("page") or "pipeline_ops"),
            evidence=tuple(Signal.from_json(s) for s in value.get("evidence") or ()),
            consequences=tuple(Signal.from_json(s) for s in value.get("consequences") or ()),
            impacted=tuple(str(i) for i in value.get("impacted") or ()))


@dataclass(frozen=True)
class RunHealth:
    """The run's one status and its findings, worst first."""

    status: HealthStatus
    findings: tuple[Finding, ...] = ()
    #: faults injected on purpose (``--faults``): context for the findings, not findings
    faults: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {severity: sum(f.severity == severity for f in self.findings)
                for severity in SEVERITY_ORDER}

    def affecting(self, relations: Iterable[str]) -> tuple[Finding, ...]:
        """The findings whose subject or downstream includes any of ``relations``."""
        wanted = set(relations)
        return tuple(f for f in self.findings if wanted & set(f.impacted))

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "counts": self.counts(),
                "faults": list(self.faults),
                "findings": [f.to_json() for f in self.findings]}

    @classmethod
    def from_json(cls, value: Any) -> RunHealth | None:
        if not isinstance(value, Mapping) or value.get("status") not in (
                "healthy", "warnings", "failed"):
            return None
        return cls(status=value["status"],
                   findings=tuple(Finding.from_json(f) for f in value.get("findings") or ()
                                  if isinstance(f, Mapping)),
                   faults=tuple(str(f) for f in value.get("faults") or ()))


# --------------------------------------------------------------------------- grouping


def _worst(severities: Iterable[Severity]) -> Severity:
    found = set(severities)
    return next((s for s in SEVERITY_ORDER if s in found), "info")


def _lead(signals: Iterable[Signal]) -> Signal:
    return min(signals, key=lambda s: (SEVERITY_ORDER.index(s.severity),
                                       SOURCE_PRIORITY.index(s.kind)))


@dataclass
class _Group:
    subject: str
    category: str
    signals: list[Signal]
    consequences: list[Signal] = field(default_factory=list)

    @property
    def symptoms_only(self) -> bool:
        return all(s.kind in SYMPTOMS for s in self.signals)

    @property
    def reads(self) -> set[str]:
        """Every node its signals are about (a test may read several)."""
        return {subject for signal in self.signals for subject in signal.subjects}


def _incident(group: _Group) -> AnomalyIncident | None:
    """The anomaly incident a group is (None for other groups)."""
    return next((s.incident for s in group.signals if s.incident is not None), None)


def _incident_day(group: _Group) -> str:
    """An anomaly incident's first day ('' for other groups)."""
    incident = _incident(group)
    return incident.first_day if incident is not None else ""


def _absorb(groups: list[_Group], graph: DbtGraph) -> list[_Group]:
    """Fold every group that an upstream group explains into it, nearest upstream first.

    A group is explained by an upstream one when they are of the same category (a stale
    raw table makes its staging and marts stale) or when it holds only symptoms (a dbt test
    or a volume on a model built from a broken source).
    """
    roots: list[_Group] = []
    for group in sorted(groups, key=lambda g: len(graph.downstream(g.subject)), reverse=True):
        candidates = []
        for root in roots:
            if group.category != root.category and not group.symptoms_only:
                continue
            theirs, ours = _incident(root), _incident(group)
            if (root.subject == group.subject and theirs is not None and ours is not None
                    and theirs != ours):
                continue  # two anomaly incidents of one table explain each other not
            distances = [hops for node in group.reads
                         if (hops := graph.distance(root.subject, node)) is not None]
            if distances and (min(distances) > 0 or group.symptoms_only):
                # nearest first; among equals, the upstream incident of the same day
                candidates.append((min(distances), _incident_day(root) != _incident_day(
                    group), root))
        if candidates:
            nearest = min(candidates, key=lambda c: c[:2])[2]
            nearest.consequences.extend([*group.signals, *group.consequences])
        else:
            roots.append(group)
    return roots


def _fold_within_subject(groups: list[_Group]) -> list[_Group]:
    """On one subject, a table with too few rows (or that failed to load) also fails its
    freshness checks (there is no newest row): those are the same root cause."""
    by_subject: dict[str, list[_Group]] = {}
    for group in groups:
        by_subject.setdefault(group.subject, []).append(group)
    kept = []
    for subject_groups in by_subject.values():
        cause = next((g for g in subject_groups
                      if g.category in ("too few rows", "load failed")), None)
        for group in subject_groups:
            if cause is not None and group is not cause and group.category in (
                    "late load", "stale data"):
                cause.consequences.extend([*group.signals, *group.consequences])
            else:
                kept.append(group)
    return kept


def _attach_run_failure(groups: list[_Group]) -> list[_Group]:
    """A run that failed because of an error finding is that finding's consequence."""
    run = [g for g in groups if g.subject == RUN_SUBJECT and g.category.startswith("run ")]
    errors = [g for g in groups if g not in run
              and any(s.severity == "error" for s in g.signals)]
    if not run or not errors:
        return groups
    for group in run:
        errors[0].consequences.extend(group.signals)
    return [g for g in groups if g not in run]


def _finding(group: _Group, graph: DbtGraph, owners: Mapping[str, str]) -> Finding:
    lead = _lead(group.signals)
    everything = [*group.signals, *group.consequences]
    column = lead.column
    subject_label = label(group.subject)
    title = f"{subject_label}: {group.category}"
    if column and group.category in COLUMN_CATEGORIES:
        title += f" in {column}"
    if lead.kind == "schema":
        changes = sorted({f"{s.column or 'table'} {s.ref.split('_', 1)[-1].replace('_', ' ')}"
                          for s in group.signals})
        title += f" ({', '.join(changes[:3])}" + (f", +{len(changes) - 3} more"
                                                   if len(changes) > 3 else "") + ")"
    elif lead.kind == "anomaly":
        title = f"{lead.text} (actual {lead.measured}, expected {lead.threshold})"
    elif lead.measured is not None and lead.threshold is not None:
        title += f" ({lead.measured}, expected {lead.threshold})"
    elif lead.kind in ("run", "load", "pipeline"):
        title = lead.text
    impacted = tuple(graph.relations[n] for n in graph.downstream(group.subject)
                     if n in graph.relations)
    owner = lead.owner or next((s.owner for s in everything if s.owner), None) or owners.get(
        group.subject)
    column_part = f":{column}" if column else ""
    # an anomaly finding is one incident (metric, slice, first day): a table may have several
    incident = f":{lead.incident.ref}" if lead.incident is not None else ""
    return Finding(
        finding_id=f"{group.category.replace(' ', '_')}:{group.subject}{column_part}{incident}",
        severity=_worst(s.severity for s in everything), category=group.category,
        subject=group.subject, subject_label=subject_label, title=title,
        measured=lead.measured, threshold=lead.threshold, owner=owner,
        page=PAGE_OF_SOURCE.get(lead.kind, "pipeline_ops"), evidence=tuple(group.signals),
        consequences=tuple(group.consequences), impacted=impacted)


def assess(manifest: RunManifest, graph: DbtGraph, *, owners: Mapping[str, str] | None = None,
           pii_change: str | None = None) -> RunHealth:
    """The run's health from everything its manifest records (see the module docstring)."""
    groups: dict[tuple[str, str, AnomalyIncident | None], _Group] = {}
    for signal in collect_signals(manifest, graph, pii_change=pii_change):
        # each anomaly incident of a table is a cause of its own (metric_anomalies splits
        # a table's flagged days into incidents): a null burst and a later outage are two
        key = (signal.subject, signal.category, signal.incident)
        groups.setdefault(key, _Group(signal.subject, signal.category, [])).signals.append(
            signal)
    roots = _attach_run_failure(_fold_within_subject(_absorb(list(groups.values()), graph)))
    findings = sorted((_finding(g, graph, owners or {}) for g in roots),
                      key=lambda f: (SEVERITY_ORDER.index(f.severity), f.finding_id))
    if manifest.status not in ("success", "running"):
        status: HealthStatus = "failed"
    elif any(f.severity in ("error", "warning") for f in findings):
        status = "warnings"
    else:
        status = "healthy"
    faults = manifest.params.faults if manifest.params else ()
    return RunHealth(status, tuple(findings), tuple(faults))


def owners_by_node(table_owners: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """The contracts' (layer, table) owners keyed by the dbt node each table is."""
    return {layer_node(layer, table): owner for (layer, table), owner in table_owners.items()}


def ops_rows(run_id: str, health: RunHealth) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``ops.run_findings`` and ``ops.finding_impacts`` for this run."""
    findings = [
        {"run_id": run_id, "finding_id": f.finding_id, "severity": f.severity,
         "category": f.category, "subject": f.subject, "subject_label": f.subject_label,
         "title": f.title, "reason": f.reason, "measured": f.measured,
         "threshold": f.threshold, "owner": f.owner, "page": f.page,
         "evidence_json": json.dumps([s.to_json() for s in f.evidence]),
         "consequences_json": json.dumps([s.to_json() for s in f.consequences])}
        for f in health.findings]
    impacts = [{"run_id": run_id, "finding_id": f.finding_id, "relation": relation}
               for f in health.findings for relation in f.impacted]
    return {"run_findings": findings, "finding_impacts": impacts}


@functools.cache
def _owners() -> dict[str, str]:
    return owners_by_node(contracts.table_owners())


def assess_run(paths: RunPaths, manifest: RunManifest) -> RunHealth:
    """A run's health from its manifest, its own dbt graph and the contracts' owners."""
    target = paths.run(manifest.run_id).dbt_target
    graph = DbtGraph.from_manifest(dbt_artifacts.load(target, within=paths.home).manifest)
    change = pii_key.change_warning({"pii_key": manifest.pii_key or {}})
    return assess(manifest, graph, owners=_owners(), pii_change=change)


def of_run(paths: HomePaths, document: Mapping[str, Any]) -> RunHealth:
    """The health a run recorded; for a run recorded before health was (or still running),
    assessed now from what its manifest holds, by the same rules."""
    recorded = RunHealth.from_json(document.get("health"))
    if recorded is not None:
        return recorded
    return assess_run(paths.run(str(document["run_id"])), RunManifest.from_json(document))
