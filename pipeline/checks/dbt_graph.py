"""The run's dbt graph as the health model reads it: parents, relation names, tests.

From dbt's own ``manifest.json`` of the run: each node's parents (to walk lineage both
ways), each node's relation (``schema.table`` as
:func:`pipeline.transform.artifacts.node_relation` names it, or ``exposure:<name>`` for a
page; none for a node that names no schema or table), and each test's subjects (the nodes
it tests) and kind (the generic test's name, ``unit_test``, or None for a singular test).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.transform.artifacts import node_relation

PROJECT = "carton_caps"


@dataclass(frozen=True)
class DbtGraph:
    """What the health model needs of the run's dbt manifest: each node's parents and
    relation name, and each test's subjects and kind."""

    parents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    relations: Mapping[str, str] = field(default_factory=dict)
    #: test unique id -> (the nodes it tests, generic test name or None for a singular test)
    tests: Mapping[str, tuple[tuple[str, ...], str | None]] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> DbtGraph:
        """From dbt's ``manifest.json`` (an empty graph when the run has none)."""
        parents: dict[str, tuple[str, ...]] = {}
        relations: dict[str, str] = {}
        tests: dict[str, tuple[tuple[str, ...], str | None]] = {}
        for key in ("sources", "nodes", "exposures", "unit_tests"):
            for unique_id, node in (manifest.get(key) or {}).items():
                if not isinstance(node, Mapping):
                    continue
                depends = tuple(d for d in (node.get("depends_on") or {}).get("nodes") or ()
                                if not str(d).startswith(("macro.", "test.")))
                kind = node.get("resource_type") or unique_id.split(".")[0]
                if kind in ("test", "unit_test"):
                    attached = node.get("attached_node") or (
                        f"model.{PROJECT}.{node.get('model')}" if kind == "unit_test"
                        and node.get("model") else None)
                    metadata = node.get("test_metadata") or {}
                    tests[unique_id] = ((attached,) if attached else depends,
                                        metadata.get("name") if kind == "test" else "unit_test")
                    continue
                parents[unique_id] = depends
                if kind == "exposure":
                    relations[unique_id] = f"exposure:{node.get('name')}"
                elif relation := node_relation(node):
                    relations[unique_id] = ".".join(relation)
        return cls(parents, relations, tests)

    def children(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for node, node_parents in self.parents.items():
            for parent in node_parents:
                found.setdefault(parent, []).append(node)
        return found

    def distance(self, ancestor: str, node: str) -> int | None:
        """Hops from ``ancestor`` down to ``node`` (None when it is not upstream of it)."""
        frontier, seen, hops = deque([node]), {node}, {node: 0}
        while frontier:
            current = frontier.popleft()
            if current == ancestor:
                return hops[current]
            for parent in self.parents.get(current, ()):
                if parent not in seen:
                    seen.add(parent)
                    hops[parent] = hops[current] + 1
                    frontier.append(parent)
        return None

    def downstream(self, node: str) -> list[str]:
        """``node`` and everything built from it, nearest first."""
        children, order, seen = self.children(), [node], {node}
        queue = deque([node])
        while queue:
            for child in sorted(children.get(queue.popleft(), ())):
                if child not in seen:
                    seen.add(child)
                    order.append(child)
                    queue.append(child)
        return order
