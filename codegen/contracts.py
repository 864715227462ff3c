"""The data contracts and the dbt sources YAML, each written from its one declaration.

* ``contracts/raw.odcs.yaml`` and ``dbt_carton_caps/models/staging/<system>/
  _<system>__sources.yml``: from ``foundation/source_tables.py`` and
  ``contracts/policy/raw.yaml``;
* ``contracts/marts.odcs.yaml``: from the dbt marts YAML
  (``dbt_carton_caps/models/marts/*/_*__models.yml``) and ``contracts/policy/marts.yaml``;
* ``dbt_carton_caps/macros/source_declarations.sql``: from ``foundation/source_tables.py``
  (the columns, keys and event times the monitoring layer profiles, known when dbt parses).

Source columns are declared once (``foundation/source_tables.py``), mart columns once
(dbt's marts YAML, whose contracts dbt enforces); what only a contract knows (owner,
severity, freshness SLA, minimum rows, extra checks) lives in one hand-written policy
file per layer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codegen.common import HEADER, GenerationError, load_yaml, render_yaml
from codegen.dbt_project import render_vars
from codegen.dbt_yaml import mart_models
from foundation.paths import CONTRACTS_DIR, DBT_PROJECT_DIR
from foundation.source_tables import SOURCE_TABLES, STAMP_COLUMNS, TABLES_BY_NAME, SourceTable

POLICY_DIR = CONTRACTS_DIR / "policy"
SOURCE_SYSTEMS = ("app_db", "event_exports")
DBT_MODEL_PREFIX = "model.carton_caps."
RAW_FROM = "foundation/source_tables.py and contracts/policy/raw.yaml"
MARTS_FROM = "dbt_carton_caps/models/marts/*/_*__models.yml and contracts/policy/marts.yaml"

# ODCS logicalType of each dbt data_type used by the marts (physicalType: data_type upper-cased)
MART_LOGICAL_TYPES: dict[str, str] = {
    "bigint": "integer",
    "integer": "integer",
    "double": "number",
    "varchar": "string",
    "date": "date",
    "boolean": "boolean",
    "timestamp": "timestamp",
}
# ODCS logicalType of each source logical type
SOURCE_LOGICAL_TYPES: dict[str, str] = {
    "bigint": "integer",
    "integer": "integer",
    "text": "string",
    "json": "string",
    "double": "number",
    "boolean": "boolean",
    "timestamp": "timestamp",
}


def _custom(**properties: Any) -> list[dict[str, Any]]:
    return [{"property": name, "value": value} for name, value in properties.items()]


# --------------------------------------------------------------------------- raw layer


def _raw_column_quality(table: SourceTable, column: str, policy: dict[str, Any],
                        defaults: dict[str, Any]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    if column in policy.get("notNegative", ()):
        checks.append({
            "id": f"raw_{table.name}_{column}_not_negative", "type": "sql",
            "description": f"{column} is never negative.",
            # a declared column name into a contract's check text, not a query we run
            "query": f"select count(*) from {{model}} where {column} < 0",  # noqa: S608
            "mustBe": 0, "severity": defaults["notNegativeSeverity"]})
    if column == table.event_time_column:
        checks.append({
            "id": f"raw_{table.name}_no_future_rows", "type": "sql",
            "description": f"No {column} at or after the run's as-of cut-off (as_of 00:00Z).",
            "query": (f"select count(*) from {{model}} where {column} >= "  # noqa: S608
                      "cast('${CARTON_CAPS_AS_OF_CUTOFF}' as timestamp)"),
            "mustBe": 0, "severity": defaults["noFutureRowsSeverity"]})
    checks.extend(policy.get("quality", {}).get(column, ()))
    return checks


def _raw_properties(table: SourceTable, policy: dict[str, Any],
                    defaults: dict[str, Any]) -> list[dict[str, Any]]:
    references = {fk.column: f"{fk.ref_table}.{fk.ref_column}" for fk in table.foreign_keys}
    properties: list[dict[str, Any]] = []
    for column in table.raw_columns:  # as landed: PII hashed or dropped
        prop: dict[str, Any] = {
            "name": column.name,
            "logicalType": SOURCE_LOGICAL_TYPES[column.type],
            "physicalType": column.duckdb_type,
        }
        if column.name == table.primary_key:
            prop["primaryKey"] = True
            prop["customProperties"] = _custom(uniqueSeverity=policy.get(
                "uniqueSeverity", defaults["uniqueSeverity"]))
        if not column.nullable:
            prop["required"] = True
        prop["description"] = column.description
        if column.name in references:
            prop["relationships"] = [{"type": "foreignKey", "to": references[column.name]}]
        quality = _raw_column_quality(table, column.name, policy, defaults)
        if quality:
            prop["quality"] = quality
        properties.append(prop)
    for name, duckdb_type, description in STAMP_COLUMNS:
        properties.append({
            "name": name,
            "logicalType": "timestamp" if duckdb_type == "TIMESTAMP" else "string",
            "physicalType": duckdb_type, "required": True, "description": description})
    return properties


def _raw_policies(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tables = policy.get("tables") or {}
    declared = [t.name for t in SOURCE_TABLES]
    unknown = sorted(set(tables) - set(declared))
    if unknown:
        raise GenerationError(f"contracts/policy/raw.yaml names undeclared tables: {unknown}")
    return {name: tables.get(name) or {} for name in declared}


def raw_contract() -> dict[str, Any]:
    """contracts/raw.odcs.yaml: the source declaration plus the raw policy."""
    policy = load_yaml(POLICY_DIR / "raw.yaml")
    defaults = policy["defaults"]
    schema: list[dict[str, Any]] = []
    slas: list[dict[str, Any]] = []
    for name, table_policy in _raw_policies(policy).items():
        table = TABLES_BY_NAME[name]
        schema.append({
            "name": name, "physicalName": name, "physicalType": "table",
            "description": table.description,
            "customProperties": _custom(
                owner=table_policy.get("owner", defaults["owner"]),
                domainOwner=table_policy["domainOwner"],
                severity=table_policy.get("severity", defaults["severity"]),
                sourceSystem=table.system,
                eventTimeColumn=table.event_time_column or None),
            "properties": _raw_properties(table, table_policy, defaults),
            "quality": [{"id": f"raw_{name}_min_rows", "type": "library",
                         "metric": "rowCount", **defaults["minRows"]}],
        })
        loaded = defaults["loadedFreshness"]
        slas.append({"id": f"raw_{name}_loaded", "property": "freshness",
                     "value": loaded["hours"], "unit": "h", "element": f"{name}._ingested_at",
                     "customProperties": _custom(severity=loaded["severity"])})
        if "eventFreshnessHours" in table_policy:
            if not table.event_time_column:
                raise GenerationError(f"contracts/policy/raw.yaml: {name} has an event "
                                      "freshness SLA but no event-time column")
            slas.append({"id": f"raw_{name}_event_recency", "property": "freshness",
                         "value": table_policy["eventFreshnessHours"], "unit": "h",
                         "element": f"{name}.{table.event_time_column}",
                         "customProperties": _custom(
                             severity=defaults["eventFreshnessSeverity"])})
    return {**policy["contract"], "schema": schema, "slaProperties": slas}


def dbt_sources(system: str) -> dict[str, Any]:
    """``_<system>__sources.yml``: one dbt source per source system, schema raw."""
    policy = load_yaml(POLICY_DIR / "raw.yaml")
    sources = policy["dbtSources"]
    unique_default = policy["defaults"]["uniqueSeverity"]
    table_policies = _raw_policies(policy)
    tables = []
    for table in SOURCE_TABLES:
        if table.system != system:
            continue
        unique_severity = table_policies[table.name].get("uniqueSeverity", unique_default)
        columns: list[dict[str, Any]] = []
        for column in table.raw_columns:  # as landed: PII hashed or dropped
            entry: dict[str, Any] = {"name": column.name, "description": column.description}
            if column.name == table.primary_key:
                entry["data_tests"] = ["not_null",
                                       {"unique": {"config": {"severity": unique_severity}}}]
            columns.append(entry)
        columns += [{"name": name, "description": description}
                    for name, _type, description in STAMP_COLUMNS]
        tables.append({
            "name": table.name,
            "description": f"{table.description} Grain: one row per {table.primary_key}.",
            "columns": columns,
        })
    return {"version": 2, "sources": [{
        "name": system,
        "description": sources["systems"][system]["description"],
        "schema": "raw",
        "config": {"loaded_at_field": "_ingested_at", "freshness": sources["freshness"]},
        "tables": tables,
    }]}


def source_declarations_macro() -> str:
    """``macros/source_declarations.sql``: every source table as landed in raw, as a Jinja
    literal the monitoring models loop over. A macro and not dbt's ``graph``, which is
    empty while dbt parses: the models must call ``source()`` for every table then, so
    that lineage records them."""
    tables = []
    for table in SOURCE_TABLES:
        tables.append({
            "source_name": table.system,
            "name": table.name,
            "primary_key": table.primary_key,
            "event_time": table.event_time_column,
            "columns": list(table.raw_column_names),
            "types": {column.name: column.type for column in table.raw_columns},
            "foreign_keys": {fk.column: f"{fk.ref_table}.{fk.ref_column}"
                             for fk in table.foreign_keys},
        })
    body = ",\n".join("    " + json.dumps(table) for table in tables)
    return (
        "{#- Every source table as raw holds it (PII masked), in declaration order: source\n"
        "    name, table, primary key, event-time column ('' when none), columns without the\n"
        "    loader's stamps, their logical types, foreign keys (column: table.column). -#}\n"
        "{% macro source_declarations() %}\n"
        f"{{{{ return([\n{body}\n]) }}}}\n"
        "{% endmacro %}\n")


# --------------------------------------------------------------------------- marts layer


def _test_name(test: Any) -> str:
    return test if isinstance(test, str) else next(iter(test))


def mart_primary_key(model: dict[str, Any]) -> tuple[str, ...]:
    """The tested primary key: a ``unique`` column, else ``unique_combination_of_columns``."""
    for column in model.get("columns") or ():
        if "unique" in (_test_name(t) for t in column.get("data_tests") or ()):
            return (column["name"],)
    for test in model.get("data_tests") or ():
        if _test_name(test) == "unique_combination_of_columns":
            return tuple(test["unique_combination_of_columns"]["arguments"]
                         ["combination_of_columns"])
    return ()


def _mart_properties(model: dict[str, Any]) -> list[dict[str, Any]]:
    key = mart_primary_key(model)
    properties: list[dict[str, Any]] = []
    for column in model["columns"]:
        data_type = column.get("data_type")
        if not data_type:
            raise GenerationError(f"mart {model['name']}: column {column['name']} has no "
                                  "data_type in the dbt YAML")
        logical = ("number" if data_type.startswith("decimal")
                   else MART_LOGICAL_TYPES.get(data_type))
        if logical is None:
            raise GenerationError(f"mart {model['name']}: column {column['name']} has a "
                                  f"data_type the generator does not map: {data_type}")
        prop: dict[str, Any] = {"name": column["name"], "logicalType": logical,
                                "physicalType": data_type.upper()}
        if column["name"] in key:
            prop["primaryKey"] = True
            if len(key) > 1:
                prop["primaryKeyPosition"] = key.index(column["name"]) + 1
            prop["required"] = True
        properties.append(prop)
    return properties


def marts_contract() -> dict[str, Any]:
    """contracts/marts.odcs.yaml: the dbt marts YAML plus the marts policy."""
    policy = load_yaml(POLICY_DIR / "marts.yaml")
    defaults = policy["defaults"]
    models = mart_models()
    tables = policy.get("tables") or {}
    missing = [name for name in models if name not in tables]
    unknown = [name for name in tables if name not in models]
    if missing or unknown:
        raise GenerationError(
            "contracts/policy/marts.yaml must list every mart of the dbt marts YAML "
            f"(missing: {missing}; not a mart: {unknown})")
    schema: list[dict[str, Any]] = []
    slas: list[dict[str, Any]] = []
    for name, table_policy in tables.items():
        model = models[name]
        schema.append({
            "name": name, "physicalName": name, "physicalType": "table",
            "description": render_vars(model.get("description", ""), f"mart {name}"),
            "customProperties": _custom(
                owner=table_policy["owner"],
                severity=table_policy.get("severity", defaults["severity"]),
                schemaSeverity=table_policy.get("schemaSeverity", defaults["schemaSeverity"]),
                dbtModel=f"{DBT_MODEL_PREFIX}{name}"),
            "properties": _mart_properties(model),
            "quality": [{"id": f"{name}_min_rows", "type": "library", "metric": "rowCount",
                         **defaults["minRows"]}],
        })
        freshness = table_policy.get("eventFreshness")
        if freshness:
            slas.append({"id": f"{name}_event_recency", "property": "freshness",
                         "value": freshness["hours"], "unit": "h",
                         "element": f"{name}.{freshness['column']}",
                         "customProperties": _custom(severity=freshness.get(
                             "severity", defaults["eventFreshnessSeverity"]))})
    return {**policy["contract"], "schema": schema, "slaProperties": slas}


def sources_file(system: str) -> Path:
    """``_<system>__sources.yml`` of one source system."""
    return DBT_PROJECT_DIR / "models" / "staging" / system / f"_{system}__sources.yml"


def files() -> dict[Path, Callable[[], str]]:
    """The contracts and dbt sources this module writes, and how to render each."""
    generated: dict[Path, Callable[[], str]] = {
        CONTRACTS_DIR / "raw.odcs.yaml": lambda: render_yaml(RAW_FROM, raw_contract()),
        CONTRACTS_DIR / "marts.odcs.yaml": lambda: render_yaml(MARTS_FROM, marts_contract()),
    }
    for system in SOURCE_SYSTEMS:
        generated[sources_file(system)] = (
            lambda system=system: render_yaml(RAW_FROM, dbt_sources(system)))
    generated[DBT_PROJECT_DIR / "macros" / "source_declarations.sql"] = lambda: (
        f"{HEADER}# Generated from foundation/source_tables.py.\n{source_declarations_macro()}")
    return generated
