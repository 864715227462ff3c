"""Contract checks that dbt's data tests of the same run have already measured.

A contract's ``required`` and ``unique``/``primaryKey`` columns are checked by counting
null rows and duplicated keys; dbt's generic ``not_null`` and ``unique`` tests count
exactly the same things on the same relation of the same snapshot, minutes earlier
(``not_null``: the rows where the column is null; ``unique``: the non-null values that
occur more than once, as datacontract-cli counts duplicated keys). At 1,000,000 users
the uniqueness scans alone were half of the contract step, measured twice.

So a contract check whose property dbt measured in this run is taken from dbt's result
(its ``failures``) instead of being scanned again: it is still its own row of
``ops.contract_results`` with the contract's own check name, severity, threshold and
status rule, and the same measured value; its ``engine`` says ``dbt`` and a failing
row's message names the test. Every other check (types, presence, row counts, SQL
rules, freshness, relationships) runs through datacontract-cli as before.

A dbt test is reused only when it measures the property and nothing else: dbt's own
``not_null``/``unique`` (no package overrides its SQL) on a plain column, without
``where``, ``limit`` or a custom ``fail_calc``, whose result is pass, warn or fail with a
failure count. A test that
errored or was skipped leaves the check to datacontract-cli. Only the DuckDB engine
reuses: on Spark, dbt's tests measured Spark's tables, not the snapshot the contracts read.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from pipeline.transform.artifacts import DbtArtifacts, node_relation

#: dbt's generic tests whose failure count is a contract check's measured value.
REUSED_TESTS = ("not_null", "unique")
_MEASURED_STATUSES = {"pass", "warn", "fail"}
_PLAIN_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEFAULT_FAIL_CALC = "count(*)"


@dataclass(frozen=True)
class DbtMeasurement:
    """What one dbt data test counted on one column of one relation in this run."""

    test_id: str
    test_name: str
    failures: int


#: (schema, relation, column, dbt test name)
PropertyKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class ReusedCheck:
    """One contract check answered by dbt: the check datacontract-cli would have made."""

    table: str
    column: str
    check_type: str  # field_required | field_unique | field_primary_key_unique
    measurement: DbtMeasurement

    @property
    def metric(self) -> str:
        """datacontract-cli's metric name, used in a failing check's message."""
        return "missing_count" if self.check_type == "field_required" else "duplicate_count"


def _tested_relation(artifacts: DbtArtifacts, test: dict[str, Any]) -> tuple[str, str] | None:
    """The model or source a generic test is attached to (sources have no attached node)."""
    parent = test.get("attached_node")
    if not parent:
        depends = (test.get("depends_on") or {}).get("nodes") or []
        parents = [d for d in depends if str(d).startswith(("model.", "source.", "seed.",
                                                            "snapshot."))]
        if len(parents) != 1:
            return None
        parent = parents[0]
    node = artifacts.node(str(parent))
    return node_relation(node) if node else None


def _overridden_tests(artifacts: DbtArtifacts) -> set[str]:
    """The reused tests whose SQL a package other than dbt defines (``test_unique``, or
    a dispatched ``<adapter>__test_unique``): then they may count something else."""
    overridden = set()
    for macro in (artifacts.manifest.get("macros") or {}).values():
        if not isinstance(macro, dict) or macro.get("package_name") == "dbt":
            continue
        macro_name = str(macro.get("name") or "")
        overridden.update(name for name in REUSED_TESTS
                          if macro_name.rsplit("__", 1)[-1] == f"test_{name}")
    return overridden


def _plain_property_test(test: dict[str, Any], overridden: set[str]) -> tuple[str, str] | None:
    """(test name, column) when the test is dbt's own and measures exactly one column's
    property."""
    metadata = test.get("test_metadata") or {}
    name = metadata.get("name")
    if (name not in REUSED_TESTS or name in overridden
            or metadata.get("namespace") not in (None, "dbt")
            or f"macro.dbt.test_{name}" not in ((test.get("depends_on") or {}).get("macros")
                                               or ())):
        return None
    config = test.get("config") or {}
    if config.get("where") or config.get("limit") is not None:
        return None
    if str(config.get("fail_calc") or _DEFAULT_FAIL_CALC).strip().lower() != _DEFAULT_FAIL_CALC:
        return None
    column = (metadata.get("kwargs") or {}).get("column_name") or test.get("column_name")
    if not isinstance(column, str) or not _PLAIN_COLUMN.match(column):
        return None
    return str(name), column


def measured_by_dbt(artifacts: DbtArtifacts) -> dict[PropertyKey, DbtMeasurement]:
    """Every plain ``not_null``/``unique`` test of this run that measured its column.

    Two tests of the same property that disagree (they cannot, on one snapshot, unless
    the artefacts were edited) are both dropped: the contract then measures it itself.
    """
    found: dict[PropertyKey, DbtMeasurement | None] = {}
    overridden = _overridden_tests(artifacts)
    for result in artifacts.results():
        unique_id = str(result.get("unique_id") or "")
        failures = result.get("failures")
        if (not unique_id.startswith("test.")
                or str(result.get("status") or "").lower() not in _MEASURED_STATUSES
                or not isinstance(failures, int) or isinstance(failures, bool) or failures < 0):
            continue
        test = artifacts.node(unique_id)
        measured = _plain_property_test(test, overridden) if test else None
        relation = _tested_relation(artifacts, test) if measured else None
        if measured is None or relation is None:
            continue
        key = (*relation, measured[1], measured[0])
        measurement = DbtMeasurement(unique_id, str(test.get("name") or unique_id), failures)
        earlier = found.get(key, measurement)
        found[key] = measurement if earlier == measurement or (
            earlier is not None and earlier.failures == failures) else None
    return {key: value for key, value in found.items() if value is not None}


def _take(prop: dict[str, Any], layer: str, physical: str,
          measurements: dict[PropertyKey, DbtMeasurement],
          composite_key: bool) -> tuple[list[str], list[tuple[str, DbtMeasurement]]]:
    """The keys to drop from one property and the checks dbt answers for it.

    Mirrors how datacontract-cli turns a property into checks: ``required`` gives
    field_required; ``unique`` field_unique; a single-column ``primaryKey`` gives
    field_primary_key_unique unless ``unique`` is set, and field_primary_key_required
    unless ``required`` is. A key column is handed over whole or not at all, so no
    check is lost or doubled by dropping its flags.
    """
    name = prop.get("name")
    if not isinstance(name, str):
        return [], []
    not_null = measurements.get((layer, physical, name, "not_null"))
    unique = measurements.get((layer, physical, name, "unique"))
    required, is_unique = prop.get("required") is True, prop.get("unique") is True
    if prop.get("primaryKey") is True:
        if composite_key or not (required and not_null and unique):
            return [], []
        unique_check = "field_unique" if is_unique else "field_primary_key_unique"
        return (["required", "unique", "primaryKey"],
                [("field_required", not_null), (unique_check, unique)])
    drop: list[str] = []
    checks: list[tuple[str, DbtMeasurement]] = []
    if required and not_null:
        drop.append("required")
        checks.append(("field_required", not_null))
    if is_unique and unique:
        drop.append("unique")
        checks.append(("field_unique", unique))
    return drop, checks


def split_measured(document: dict[str, Any], layer: str,
                   measurements: dict[PropertyKey, DbtMeasurement]
                   ) -> tuple[dict[str, Any], list[ReusedCheck]]:
    """The contract left for datacontract-cli, and the checks dbt already answered.

    ``document`` is not changed; the returned one is a copy without the flags of the
    reused checks (only top-level columns of each table: nested ones stay as they are).
    """
    if not measurements:
        return document, []
    remaining = copy.deepcopy(document)
    reused: list[ReusedCheck] = []
    for table in remaining.get("schema") or []:
        physical = str(table.get("physicalName") or table.get("name"))
        properties = table.get("properties") or []
        composite_key = sum(1 for p in properties if p.get("primaryKey") is True) > 1
        for prop in properties:
            drop, checks = _take(prop, layer, physical, measurements, composite_key)
            for key in drop:
                prop.pop(key, None)
            reused.extend(ReusedCheck(table=str(table["name"]), column=str(prop["name"]),
                                      check_type=check_type, measurement=measurement)
                          for check_type, measurement in checks)
    return remaining, reused
