"""A finished run's results as Dagster sees them: materialisations and check results.

Everything is read from what the run recorded, never recomputed: the manifest (row counts,
file hashes, snapshot, health), dbt's own ``run_results.json`` of the run, its source
freshness, and the contract results stored in the snapshot (``ops.contract_results``; a
run that did not publish has only its failing checks, in the manifest). So the checks
Dagster keeps for a run equal the run's contract and dbt results.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

import duckdb
from foundation.paths import RunPaths
from orchestration.asset_graph import HEALTH_CHECK, SNAPSHOT, SOURCE_FILES, AssetGraph
from pipeline.checks.health import RunHealth
from pipeline.records.run_manifest import RunManifest
from pipeline.transform import artifacts

RUN_ID_KEY = "carton_caps/run_id"
PASSED_DBT = frozenset({"pass", "success"})
CONTRACT_COLUMNS = ("check", "column", "status", "severity", "measured", "threshold",
                    "message")


@dataclass(frozen=True)
class FinishedRun:
    """A run as it ended: where its files are and its final manifest."""

    paths: RunPaths
    manifest: RunManifest

    @property
    def published(self) -> bool:
        return self.manifest.status == "success"

    def common(self) -> dict[str, Any]:
        """What every materialisation and check of the run carries: the way back to it."""
        home = self.paths.home
        return {RUN_ID_KEY: self.manifest.run_id,
                "carton_caps/manifest": str(self.paths.manifest.relative_to(home)),
                "carton_caps/as_of": self.manifest.params.as_of if self.manifest.params
                else None}

    def dbt_results(self) -> dict[str, dict[str, Any]]:
        loaded = artifacts.load(self.paths.dbt_target, within=self.paths.home)
        return {str(r.get("unique_id")): r for r in loaded.results()}

    def contract_results(self) -> list[dict[str, Any]] | None:
        """Every contract check of a published run (from its snapshot); the failing ones of
        a run that did not publish (from its manifest); None if contracts never ran."""
        if self.published and self.paths.snapshot.is_file():
            with contextlib.closing(duckdb.connect(str(self.paths.snapshot),
                                                   read_only=True)) as con:
                rows = con.execute(
                    "select layer, table_name, column_name, check_name, status, severity, "
                    "measured, threshold, message from ops.contract_results "
                    "order by layer, table_name, check_name, column_name").fetchall()
            names = ("layer", "table", "column", "check", "status", "severity", "measured",
                     "threshold", "message")
            return [dict(zip(names, row, strict=True)) for row in rows]
        if not self.manifest.contracts.get("summary"):
            return None
        return [dict(r) for r in self.manifest.contracts.get("failing") or ()]


def _test_threshold(node: Mapping[str, Any]) -> str:
    if str(node.get("unique_id", "")).startswith("unit_test."):
        return "the model's rows equal the expected rows"
    config = node.get("config") or {}
    severity = str(config.get("severity") or "error").lower()
    return (f"failing rows: error if {config.get('error_if', '!= 0')}, warn if "
            f"{config.get('warn_if', '!= 0')} (severity {severity})")


def _dbt_node(graph: AssetGraph, run_nodes: Mapping[str, Any], uid: str) -> Mapping[str, Any]:
    return (run_nodes.get(uid) or graph.manifest["nodes"].get(uid)
            or (graph.manifest.get("unit_tests") or {}).get(uid) or {"unique_id": uid})


def dbt_test_results(graph: AssetGraph, run: FinishedRun) -> Iterator[dg.AssetCheckResult]:
    """One result per dbt test and unit test the run executed (all of them, when it
    published): dbt's status, its failing rows (measured) against the test's threshold."""
    results = run.dbt_results()
    loaded = artifacts.load(run.paths.dbt_target, within=run.paths.home).manifest
    run_nodes = {**(loaded.get("nodes") or {}), **(loaded.get("unit_tests") or {})}
    for uid, check in graph.test_checks.items():
        result = results.get(uid)
        status = str((result or {}).get("status") or "no result").lower()
        if not run.published and status in ("no result", "skipped"):
            continue  # the run stopped before dbt ran it: no evaluation to report
        node = _dbt_node(graph, run_nodes, uid)
        yield dg.AssetCheckResult(
            asset_key=check.asset_key, check_name=check.name, passed=status in PASSED_DBT,
            severity=dg.AssetCheckSeverity.WARN if status == "warn"
            else dg.AssetCheckSeverity.ERROR,
            metadata={**run.common(), "dbt_status": status,
                      "measured": (result or {}).get("failures"),
                      "threshold": _test_threshold(node), "dbt_unique_id": uid,
                      "message": str((result or {}).get("message") or "")[:1000],
                      "execution_time_s": (result or {}).get("execution_time")})


def _freshness_threshold(source: Mapping[str, Any]) -> str:
    freshness = source.get("freshness") or {}
    parts = [f"{level.split('_')[0]} after {rule['count']} {rule['period']}(s)"
             for level in ("warn_after", "error_after")
             if (rule := freshness.get(level) or {}).get("count")]
    return ", ".join(parts)


def freshness_results(graph: AssetGraph, run: FinishedRun) -> Iterator[dg.AssetCheckResult]:
    """dbt source freshness of each raw table: the load stamp's age against its SLA."""
    measured = {r.get("unique_id"): r for r in run.manifest.freshness.get("results") or ()}
    for uid, check in graph.freshness_checks.items():
        result = measured.get(uid)
        if result is None and not run.published:
            continue
        status = str((result or {}).get("status") or "no result").lower()
        age = (result or {}).get("age_s")
        yield dg.AssetCheckResult(
            asset_key=check.asset_key, check_name=check.name, passed=status == "pass",
            severity=dg.AssetCheckSeverity.WARN if status == "warn"
            else dg.AssetCheckSeverity.ERROR,
            metadata={**run.common(), "dbt_status": status,
                      "measured": None if age is None else f"{age / 3600:.2f} h",
                      "threshold": _freshness_threshold(graph.manifest["sources"][uid])})


def _contract_table(rows: list[dict[str, Any]]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: "" if r.get(c) is None else str(r.get(c))
                                 for c in CONTRACT_COLUMNS}) for r in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in CONTRACT_COLUMNS]))


def contract_results(graph: AssetGraph, run: FinishedRun) -> Iterator[dg.AssetCheckResult]:
    """Each table's data contract: passed when every check passed; WARN when only checks of
    severity warn failed. Every check's measured value and threshold in its metadata."""
    rows = run.contract_results()
    if rows is None:
        return
    by_table: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_table[(str(row.get("layer")), str(row.get("table")))].append(row)
    for table, check in graph.contract_checks.items():
        checks = by_table.get(table, [])
        failing = [r for r in checks if r.get("status") != "PASS"]
        counts = {s.lower(): sum(r.get("status") == s for r in checks)
                  for s in ("PASS", "WARN", "FAIL")}
        metadata: dict[str, Any] = {**run.common(), "failing": [
            {c: r.get(c) for c in CONTRACT_COLUMNS} for r in failing]}
        if run.published:  # a run that did not publish kept only its failing checks
            metadata.update({"checks": len(checks), **counts, "results": _contract_table(checks)})
        yield dg.AssetCheckResult(
            asset_key=check.asset_key, check_name=check.name, passed=not failing,
            severity=dg.AssetCheckSeverity.ERROR if counts["fail"]
            else dg.AssetCheckSeverity.WARN, metadata=metadata)


def health_result(run: FinishedRun) -> dg.AssetCheckResult:
    health = RunHealth.from_json(run.manifest.health)
    status = health.status if health else ("healthy" if run.published else "failed")
    findings = [{"finding_id": f.finding_id, "severity": f.severity, "title": f.title,
                 "owner": f.owner, "measured": f.measured, "threshold": f.threshold}
                for f in (health.findings if health else ())]
    return dg.AssetCheckResult(
        asset_key=SNAPSHOT, check_name=HEALTH_CHECK, passed=status == "healthy",
        severity=dg.AssetCheckSeverity.ERROR if status == "failed"
        else dg.AssetCheckSeverity.WARN,
        metadata={**run.common(), "status": status, "findings": findings,
                  **(health.counts() if health else {})})


def check_results(graph: AssetGraph, run: FinishedRun) -> list[dg.AssetCheckResult]:
    """Every check the run evaluated (every declared one, when it published)."""
    return [*dbt_test_results(graph, run), *freshness_results(graph, run),
            *contract_results(graph, run), health_result(run)]


def materializations(graph: AssetGraph, run: FinishedRun) -> list[dg.MaterializeResult]:
    """One materialisation per asset of a published run, each naming the run, upstream
    first (the order Dagster requires of a multi-asset)."""
    manifest, common = run.manifest, run.common()
    tables = manifest.ingestion.get("tables") or {}
    files = {t.get("source_file"): t.get("sha256") for t in tables.values()}
    metadata: dict[dg.AssetKey, dict[str, Any]] = {SOURCE_FILES: {
        "data_dir": str(run.paths.run_data_dir.relative_to(run.paths.home)),
        "files_sha256": json.dumps(files, sort_keys=True)}}
    for table, key in graph.raw_keys.items():
        loaded = tables.get(table) or {}
        metadata[key] = {"dagster/row_count": manifest.row_counts.raw.get(table, 0),
                         "rows_rejected": loaded.get("rows_rejected"),
                         "source_file": loaded.get("source_file"),
                         "source_sha256": loaded.get("sha256")}
    dbt = run.dbt_results()
    for uid, key in graph.node_keys.items():
        if uid.startswith("model."):
            result, name = dbt.get(uid) or {}, graph.manifest["nodes"][uid]["name"]
            rows = manifest.row_counts.marts.get(name)
            metadata[key] = {"dbt_status": result.get("status"),
                             "execution_time_s": result.get("execution_time"),
                             **({"dagster/row_count": rows} if rows is not None else {})}
    snapshot = manifest.snapshot
    metadata[SNAPSHOT] = {
        "snapshot": Path(snapshot.path or "").name, "sha256": snapshot.sha256,
        "size_bytes": snapshot.size_bytes, "pointer_moved": manifest.pointer_updated,
        "previous_run_id": manifest.previous_run_id, "published_at": manifest.published_at,
        "health": (manifest.health or {}).get("status")}
    return [dg.MaterializeResult(asset_key=spec.key, metadata={**common, **metadata[spec.key]})
            for spec in graph.specs]
