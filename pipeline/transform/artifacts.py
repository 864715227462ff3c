"""dbt's own record of a build, loaded into the snapshot and the manifest.

Reads the run's ``logs/dbt/<run_id>/target/{run_results,manifest,sources}.json`` and
writes three ops tables:

* ``ops.dbt_nodes``: the nodes that matter (models, tests, unit tests, seeds,
  snapshots, sources, exposures) with their type, path, materialisation, severity,
  the node a test is attached to, and dependencies;
* ``ops.dbt_results``: one row per executed node and per source-freshness result,
  with status, timing, failures count, message and, for failing or warning tests,
  the compiled SQL;
* ``ops.dbt_test_failure_samples``: up to :data:`SAMPLE_ROWS` failing rows per failing
  or warning test, obtained by running the test's compiled SQL against the snapshot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from foundation import untrusted_files
from pipeline.records.run_manifest import DBT_REPORTED_STATUSES

logger = logging.getLogger(__name__)

SAMPLE_ROWS = 20
MANIFEST_SAMPLE_ROWS = 5
NODE_TYPES = ("model", "test", "unit_test", "seed", "snapshot", "source", "exposure")


@dataclass(frozen=True)
class TestSample:
    unique_id: str
    name: str
    status: str
    rows: tuple[dict[str, Any], ...]
    error: str | None = None


@dataclass
class DbtArtifacts:
    """The parsed artefacts of one dbt target folder (any may be missing)."""

    target_path: Path
    run_results: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> dict[str, bool]:
        return {"run_results": bool(self.run_results), "manifest": bool(self.manifest),
                "sources": bool(self.sources)}

    def node(self, unique_id: str) -> dict[str, Any]:
        for key in ("nodes", "sources", "exposures", "unit_tests"):
            found = (self.manifest.get(key) or {}).get(unique_id)
            if found:
                return found
        return {}

    def results(self) -> list[dict[str, Any]]:
        return list(self.run_results.get("results") or [])

    def failing_tests(self) -> list[dict[str, Any]]:
        return [r for r in self.results()
                if str(r.get("unique_id", "")).startswith("test.")
                and str(r.get("status", "")).lower() in DBT_REPORTED_STATUSES]


def node_relation(node: Mapping[str, Any]) -> tuple[str, str] | None:
    """A dbt node's relation, ``(schema, table)``, as the snapshot's schemas name it; None
    when the node names no schema or no table.

    dbt names a model's, seed's or snapshot's table ``alias`` and a source's ``identifier``,
    each defaulting to the node's ``name``. Everything that names the table a node builds or
    reads goes through it (the contract checks that reuse dbt's tests, the health model's
    lineage, the OpenLineage datasets), so they agree on which table it is;
    ``ops.dbt_nodes.alias`` records dbt's own field as dbt wrote it, not a table name.
    """
    schema = node.get("schema")
    name = node.get("alias") or node.get("identifier") or node.get("name")
    return (str(schema), str(name)) if schema and name else None


RUN_RESULTS = "run_results.json"


def _read_json(path: Path, within: Path) -> dict[str, Any] | None:
    """A JSON object dbt wrote, read as untrusted input (a regular file inside ``within``,
    bounded: :mod:`foundation.untrusted_files`); None when missing, refused or malformed."""
    try:
        document = untrusted_files.read_json(path, home=within)
    except (OSError, untrusted_files.UntrustedFileError):
        return None
    return document if isinstance(document, dict) else None


def read_run_results(target_path: Path, *, within: Path | None = None) -> dict[str, Any] | None:
    """dbt's ``run_results.json`` in ``target_path``, parsed; None when missing or unreadable.

    The project's one reader of that file: the pipeline's dbt summary
    (:func:`pipeline.transform.commands.read_run_results`), :func:`load` and the dashboards'
    fallback for older snapshots all go through it. ``within`` (default: the target
    folder) is the folder the file must resolve inside: readers of a home pass the home.
    """
    return _read_json(target_path / RUN_RESULTS, within or target_path)


def read_sources(target_path: Path, *, within: Path | None = None) -> dict[str, Any] | None:
    """dbt's ``sources.json`` (``dbt source freshness``); None when missing or unreadable."""
    return _read_json(target_path / "sources.json", within or target_path)


def load(target_path: Path, *, within: Path | None = None) -> DbtArtifacts:
    """Every artefact of one dbt target folder (``within``: as :func:`read_run_results`)."""
    within = within or target_path
    return DbtArtifacts(target_path=target_path,
                        run_results=read_run_results(target_path, within=within) or {},
                        manifest=_read_json(target_path / "manifest.json", within) or {},
                        sources=read_sources(target_path, within=within) or {})


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def _timestamp(value: Any) -> datetime | None:
    """An ISO timestamp from dbt (UTC, with or without offset) as a naive UTC datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _compiled_sql(artifacts: DbtArtifacts, result: dict[str, Any]) -> str | None:
    return result.get("compiled_code") or artifacts.node(result["unique_id"]).get("compiled_code")


def sample_failing_tests(artifacts: DbtArtifacts, con: duckdb.DuckDBPyConnection,
                         limit: int = SAMPLE_ROWS) -> list[TestSample]:
    """Re-run each failing/warning test's compiled SQL with ``limit`` to keep failing rows."""
    samples = []
    for result in artifacts.failing_tests():
        unique_id = str(result["unique_id"])
        node = artifacts.node(unique_id)
        name = node.get("name") or unique_id.split(".")[-1]
        status = str(result.get("status")).lower()
        sql = _compiled_sql(artifacts, result)
        if not sql:
            samples.append(TestSample(unique_id, name, status, (), "no compiled SQL"))
            continue
        try:
            # The SQL is dbt's compilation of this project's own test, not user input.
            body = sql.rstrip().rstrip(";")
            query = f"select * from (\n{body}\n) as failures limit {int(limit)}"  # noqa: S608
            cursor = con.execute(query)
            columns = [d[0] for d in cursor.description]
            rows = tuple({c: _json_value(v) for c, v in zip(columns, row, strict=True)}
                         for row in cursor.fetchall())
            samples.append(TestSample(unique_id, name, status, rows))
        except duckdb.Error as exc:
            samples.append(TestSample(unique_id, name, status, (),
                                      str(exc).strip().splitlines()[0][:500]))
    return samples


def node_rows(artifacts: DbtArtifacts, run_id: str) -> list[dict[str, Any]]:
    rows = []
    manifest = artifacts.manifest
    for key in ("nodes", "sources", "exposures", "unit_tests"):
        for unique_id, node in sorted((manifest.get(key) or {}).items()):
            resource_type = node.get("resource_type") or unique_id.split(".")[0]
            if resource_type not in NODE_TYPES:
                continue
            config = node.get("config") or {}
            test_metadata = node.get("test_metadata") or {}
            depends = (node.get("depends_on") or {}).get("nodes") or []
            rows.append({
                "run_id": run_id, "unique_id": unique_id, "resource_type": resource_type,
                "name": node.get("name"), "package_name": node.get("package_name"),
                "original_file_path": node.get("original_file_path"),
                "schema_name": node.get("schema"),
                "alias": node.get("alias") or node.get("identifier"),
                "materialized": config.get("materialized"),
                "severity": config.get("severity") if resource_type == "test" else None,
                "attached_node": node.get("attached_node") or (
                    node.get("model") if resource_type == "unit_test" else None),
                "column_name": node.get("column_name"),
                "test_name": test_metadata.get("name"), "depends_on": json.dumps(depends),
                "tags": json.dumps(node.get("tags") or []),
                "description": (node.get("description") or "")[:1000],
            })
    return rows


def result_rows(artifacts: DbtArtifacts, run_id: str) -> list[dict[str, Any]]:
    rows = []
    invocation = (artifacts.run_results.get("metadata") or {}).get("invocation_id")
    for result in artifacts.results():
        unique_id = str(result.get("unique_id"))
        status = str(result.get("status", "")).lower()
        timing = {t.get("name"): t for t in result.get("timing") or []}
        execute = timing.get("execute") or {}
        started = (timing.get("compile") or execute).get("started_at")
        compiled = _compiled_sql(artifacts, result) if (
            status in DBT_REPORTED_STATUSES and unique_id.startswith("test.")) else None
        rows.append({
            "run_id": run_id, "unique_id": unique_id, "resource_type": unique_id.split(".")[0],
            "name": artifacts.node(unique_id).get("name") or unique_id.split(".")[-1],
            "status": status, "execution_time_s": result.get("execution_time"),
            "failures": result.get("failures"),
            "message": (result.get("message") or "")[:4000] or None, "compiled_sql": compiled,
            "relation_name": result.get("relation_name"), "started_at": _timestamp(started),
            "completed_at": _timestamp(execute.get("completed_at")), "invocation": invocation,
        })
    for result in artifacts.sources.get("results") or []:
        unique_id = str(result.get("unique_id"))
        age = result.get("max_loaded_at_time_ago_in_s")
        message = result.get("error") or (
            f"max_loaded_at {result.get('max_loaded_at')}, {age:.0f} s before "
            f"{result.get('snapshotted_at')}" if age is not None else None)
        rows.append({
            "run_id": run_id, "unique_id": unique_id, "resource_type": "source_freshness",
            "name": unique_id.split(".")[-1], "status": str(result.get("status", "")).lower(),
            "execution_time_s": result.get("execution_time"), "failures": None,
            "message": message, "compiled_sql": None, "relation_name": None,
            "started_at": _timestamp(result.get("snapshotted_at")), "completed_at": None,
            "invocation": (artifacts.sources.get("metadata") or {}).get("invocation_id"),
        })
    return rows


def ops_rows(run_id: str, artifacts: DbtArtifacts,
             samples: list[TestSample]) -> dict[str, list[dict[str, Any]]]:
    """This run's dbt record: the rows of the three ``ops.dbt_*`` tables."""
    nodes, results = node_rows(artifacts, run_id), result_rows(artifacts, run_id)
    sample_rows: list[dict[str, Any]] = []
    for sample in samples:
        sample_of = {"run_id": run_id, "unique_id": sample.unique_id,
                     "test_name": sample.name, "status": sample.status}
        if not sample.rows:
            sample_rows.append({**sample_of, "row_number": 0, "row_json": None,
                                "sample_error": sample.error})
        for number, row in enumerate(sample.rows, start=1):
            sample_rows.append({**sample_of, "row_number": number,
                                "row_json": json.dumps(row, default=str), "sample_error": None})
    return {"dbt_nodes": nodes, "dbt_results": results, "dbt_test_failure_samples": sample_rows}


def manifest_failures(artifacts: DbtArtifacts,
                      samples: list[TestSample] | None = None) -> list[dict[str, Any]]:
    """Every failing or warning node, with message, compiled SQL and a few failing rows."""
    by_id = {s.unique_id: s for s in samples or []}
    failures = []
    for result in artifacts.results():
        status = str(result.get("status", "")).lower()
        if status not in DBT_REPORTED_STATUSES:
            continue
        unique_id = str(result["unique_id"])
        node = artifacts.node(unique_id)
        entry: dict[str, Any] = {
            "unique_id": unique_id,
            "resource_type": unique_id.split(".")[0],
            "status": status,
            "failures": result.get("failures"),
            "message": (result.get("message") or "")[:2000],
            "severity": (node.get("config") or {}).get("severity"),
            "attached_node": node.get("attached_node"),
            "column_name": node.get("column_name"),
        }
        if unique_id.startswith("test."):
            entry["compiled_sql"] = _compiled_sql(artifacts, result)
        sample = by_id.get(unique_id)
        if sample is not None:
            entry["sample_rows"] = list(sample.rows[:MANIFEST_SAMPLE_ROWS])
            if sample.error:
                entry["sample_error"] = sample.error
        failures.append(entry)
    return failures


#: lineage layers, left to right; a model's layer is its folder under models/
LAYERS = ("source", "staging", "intermediate", "marts", "exposure")
#: a node's test status, worst first (a node without tests is "untested")
TEST_STATUS_ORDER = ("error", "fail", "warn", "skipped", "pass", "untested")


@dataclass(frozen=True)
class LineageNode:
    """One source, model or exposure of the dbt graph with what the lineage page shows."""

    unique_id: str
    resource_type: str
    name: str
    layer: str
    description: str
    path: str | None
    #: (column name, data type, description)
    columns: tuple[tuple[str, str | None, str], ...]
    parents: tuple[str, ...]
    #: (test name, status) of the data and unit tests attached to the node
    tests: tuple[tuple[str, str], ...]

    @property
    def test_status(self) -> str:
        """The worst status of the node's tests ("untested" when it has none)."""
        statuses = {status for _name, status in self.tests} or {"untested"}
        return next(s for s in TEST_STATUS_ORDER if s in statuses or s == "untested")


def _layer(resource_type: str, node: dict[str, Any]) -> str:
    if resource_type in ("source", "exposure"):
        return resource_type
    parts = str(node.get("original_file_path") or "").split("/")
    folder = parts[1] if len(parts) > 2 else ""
    return folder if folder in LAYERS else "marts"


def lineage(artifacts: DbtArtifacts) -> dict[str, LineageNode]:
    """Sources, models and exposures of the run's manifest, keyed by unique id, each with
    its parents in the graph and the latest status of its tests from run_results.json."""
    manifest = artifacts.manifest
    status = {str(r.get("unique_id")): str(r.get("status", "")).lower()
              for r in artifacts.results()}
    tests: dict[str, list[tuple[str, str]]] = {}
    for key in ("nodes", "unit_tests"):
        for unique_id, node in (manifest.get(key) or {}).items():
            if node.get("resource_type") not in ("test", "unit_test"):
                continue
            targets = [node.get("attached_node")] if node.get("attached_node") else \
                (node.get("depends_on") or {}).get("nodes") or []
            for target in targets:
                tests.setdefault(target, []).append(
                    (str(node.get("name")), status.get(unique_id, "not run")))
    graph: dict[str, LineageNode] = {}
    for key in ("sources", "nodes", "exposures"):
        for unique_id, node in sorted((manifest.get(key) or {}).items()):
            resource_type = node.get("resource_type") or unique_id.split(".")[0]
            if resource_type not in ("source", "model", "seed", "snapshot", "exposure"):
                continue
            name = (f"{node.get('source_name')}.{node.get('name')}"
                    if resource_type == "source" else str(node.get("name")))
            columns = tuple((str(c.get("name")), c.get("data_type"), c.get("description") or "")
                            for c in (node.get("columns") or {}).values())
            parents = tuple(p for p in (node.get("depends_on") or {}).get("nodes") or []
                            if not p.startswith(("macro.", "test.")))
            graph[unique_id] = LineageNode(
                unique_id, resource_type, node.get("label") or name, _layer(resource_type, node),
                node.get("description") or "", node.get("original_file_path"), columns, parents,
                tuple(sorted(tests.get(unique_id, []))))
    return graph
