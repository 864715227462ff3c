"""What Dagster shows: the run's assets and checks, declared from the dbt manifest.

Assets, in lineage order: the generated **source files**, one **raw table** per dbt source
(``raw/<table>``), **every dbt model** (dagster-dbt's specs for it: description, columns,
code version, dependencies), and the published **snapshot**. Checks: every **dbt test**
on the asset it tests (a singular test reading several models on the most downstream of
them), every **dbt unit test** on its model, **dbt source freshness** on each raw table
that declares it, the **data contract** of each table on that table's asset (its checks'
measured values against their thresholds), and the run's **health** on the snapshot.

One pipeline run materialises all of them at once (:mod:`orchestration.assets`); this
module only declares them and keeps the lookups from a run's results to their keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY as DBT_UNIQUE_ID
from dagster_dbt.asset_utils import build_dbt_specs

from pipeline.checks.contracts import table_owners

SOURCE_FILES = dg.AssetKey(["source_files"])
SNAPSHOT = dg.AssetKey(["snapshot"])
RAW_PREFIX = "raw"
CONTRACT_CHECK = "contract"
FRESHNESS_CHECK = "dbt_source_freshness"
HEALTH_CHECK = "health"
#: model folders in lineage order: a singular test reading several models is attached to
#: the most downstream of them
LAYER_ORDER = ("raw", "staging", "intermediate", "marts")


class PipelineTranslator(DagsterDbtTranslator):
    """dagster-dbt's reading of the manifest with the project's names: a dbt source is the
    raw table the loader fills (``raw/<table>``), a model's group is its layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([RAW_PREFIX, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return RAW_PREFIX
        return dbt_resource_props.get("config", {}).get("schema") or "dbt"


@dataclass
class AssetGraph:
    """The declared assets and checks, and how a run's results find their keys."""

    specs: list[dg.AssetSpec] = field(default_factory=list)
    check_specs: list[dg.AssetCheckSpec] = field(default_factory=list)
    #: dbt unique id (model or source) -> asset key
    node_keys: dict[str, dg.AssetKey] = field(default_factory=dict)
    #: dbt test or unit test unique id -> its check
    test_checks: dict[str, dg.AssetCheckKey] = field(default_factory=dict)
    #: dbt source unique id -> its freshness check
    freshness_checks: dict[str, dg.AssetCheckKey] = field(default_factory=dict)
    #: (contract layer, table) -> its contract check
    contract_checks: dict[tuple[str, str], dg.AssetCheckKey] = field(default_factory=dict)
    #: the dbt manifest the graph was declared from (tests' thresholds, sources' SLAs)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def raw_keys(self) -> dict[str, dg.AssetKey]:
        """raw table name -> asset key."""
        return {key.path[-1]: key for uid, key in self.node_keys.items()
                if uid.startswith("source.")}

    def add_check(self, spec: dg.AssetCheckSpec) -> dg.AssetCheckKey:
        if any(existing.key == spec.key for existing in self.check_specs):
            raise ValueError(f"two checks named {spec.name!r} on {spec.asset_key.to_user_string()}")
        self.check_specs.append(spec)
        return spec.key


def _layer_rank(manifest: Mapping[str, Any], unique_id: str) -> int:
    node = manifest["sources"].get(unique_id) or manifest["nodes"].get(unique_id) or {}
    layer = "raw" if unique_id.startswith("source.") else node.get("config", {}).get("schema")
    return LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER)


def attached_node(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    """The model or source a test is about: dbt's ``attached_node`` for a generic test, the
    one parent of a singular test, else the parent no other parent reads from (the most
    downstream; the latest layer, then the name, breaks a tie)."""
    if test.get("attached_node"):
        return str(test["attached_node"])
    parents = sorted(set(test.get("depends_on", {}).get("nodes", [])))
    if len(parents) <= 1:
        return parents[0] if parents else None
    parent_map = manifest.get("parent_map", {})

    def ancestors(unique_id: str) -> set[str]:
        seen, todo = set(), list(parent_map.get(unique_id, []))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(parent_map.get(current, []))
        return seen

    upstream = set().union(*(ancestors(p) for p in parents))
    sinks = [p for p in parents if p not in upstream] or parents
    return max(sinks, key=lambda p: (_layer_rank(manifest, p), p))


def _dbt_specs(manifest: dict[str, Any], translator: PipelineTranslator,
               graph: AssetGraph) -> None:
    specs, _checks = build_dbt_specs(translator=translator, manifest=manifest,
                                     select="fqn:*", exclude="", selector="",
                                     io_manager_key=None, project=None)
    for spec in specs:
        uid = spec.metadata[DBT_UNIQUE_ID]
        graph.node_keys[uid] = spec.key
        graph.specs.append(spec)


def _raw_specs(manifest: dict[str, Any], translator: PipelineTranslator,
               graph: AssetGraph) -> None:
    for uid, source in sorted(manifest["sources"].items()):
        key = translator.get_asset_key(source)
        graph.node_keys[uid] = key
        graph.specs.append(dg.AssetSpec(
            key, deps=[SOURCE_FILES], group_name=RAW_PREFIX, kinds={"duckdb"},
            description=source.get("description") or f"raw.{source['name']}, as loaded",
            metadata={"dagster/table_name": f"raw.{source['name']}",
                      "dbt_source": uid}))
        if (source.get("freshness") or {}).get("warn_after", {}).get("count") or (
                source.get("freshness") or {}).get("error_after", {}).get("count"):
            graph.freshness_checks[uid] = graph.add_check(dg.AssetCheckSpec(
                FRESHNESS_CHECK, asset=key,
                description="dbt source freshness of the load stamp (_ingested_at)"))


def _test_checks(manifest: dict[str, Any], graph: AssetGraph) -> None:
    for uid, test in sorted(manifest["nodes"].items()):
        if test["resource_type"] != "test":
            continue
        target = attached_node(manifest, test)
        if target not in graph.node_keys:
            continue
        severity = str(test.get("config", {}).get("severity") or "error").lower()
        graph.test_checks[uid] = graph.add_check(dg.AssetCheckSpec(
            test["name"], asset=graph.node_keys[target], blocking=severity == "error",
            description=test.get("description") or f"dbt test {test['name']}",
            additional_deps=[graph.node_keys[p] for p in test["depends_on"]["nodes"]
                             if p in graph.node_keys and p != target],
            metadata={DBT_UNIQUE_ID: uid, "dbt_severity": severity}))
    for uid, unit in sorted((manifest.get("unit_tests") or {}).items()):
        target = next(iter(unit.get("depends_on", {}).get("nodes", [])), None)
        if target not in graph.node_keys:
            continue
        graph.test_checks[uid] = graph.add_check(dg.AssetCheckSpec(
            unit["name"], asset=graph.node_keys[target], blocking=True,
            description=unit.get("description") or f"dbt unit test {unit['name']}",
            metadata={DBT_UNIQUE_ID: uid, "dbt_severity": "error"}))


def _contract_checks(graph: AssetGraph) -> None:
    models = {graph.manifest["nodes"][uid]["name"]: key for uid, key in graph.node_keys.items()
              if uid.startswith("model.")}
    raw = graph.raw_keys
    for (layer, table), owner in sorted(table_owners().items()):
        key = raw.get(table) if layer == RAW_PREFIX else models.get(table)
        if key is None:
            raise ValueError(f"the contract of {layer}.{table} names no asset")
        graph.contract_checks[(layer, table)] = graph.add_check(dg.AssetCheckSpec(
            CONTRACT_CHECK, asset=key, blocking=True,
            description=f"data contract of {layer}.{table} (owner {owner}): every check, "
                        "measured against its threshold; FAIL blocks publication",
            metadata={"contract_layer": layer, "contract_owner": owner}))


def _in_lineage_order(specs: list[dg.AssetSpec]) -> list[dg.AssetSpec]:
    """Upstream first: the order a multi-asset must report its materialisations in."""
    by_key = {spec.key: spec for spec in specs}
    order = TopologicalSorter({spec.key: {dep.asset_key for dep in spec.deps
                                          if dep.asset_key in by_key} for spec in specs})
    return [by_key[key] for key in order.static_order()]


def build_graph(manifest: dict[str, Any]) -> AssetGraph:
    """Every asset and check of a run, from the project's dbt manifest."""
    translator = PipelineTranslator(DagsterDbtTranslatorSettings(enable_asset_checks=False))
    graph = AssetGraph(manifest=manifest)
    graph.specs.append(dg.AssetSpec(
        SOURCE_FILES, group_name="ingest", kinds={"csv", "sqlite"},
        description="The generated source files of the run: data/<run_id>/ (app.sqlite and "
                    "the event exports), each hashed into the manifest"))
    _raw_specs(manifest, translator, graph)
    _dbt_specs(manifest, translator, graph)
    models = [key for uid, key in graph.node_keys.items() if uid.startswith("model.")]
    graph.specs.append(dg.AssetSpec(
        SNAPSHOT, deps=models, group_name="publish", kinds={"duckdb"},
        description="The run's immutable DuckDB snapshot, published with its manifest; "
                    "duckdb/LATEST_DB.txt names the published run with the newest as-of"))
    graph.specs = _in_lineage_order(graph.specs)
    _test_checks(manifest, graph)
    _contract_checks(graph)
    graph.add_check(dg.AssetCheckSpec(
        HEALTH_CHECK, asset=SNAPSHOT,
        description="The run's health: findings by root cause; warns when it has any"))
    return graph
