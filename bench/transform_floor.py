"""The transformation floor of a finished run: dbt's compiled SQL executed without dbt.

``dbt_build`` pays DuckDB for the SQL plus dbt for everything around it (per node:
rendering, events and logs, compiled files, adapter round trips, contract checks). This
script executes a run's compiled SQL models (as tables or views, in dependency order) and
its data tests (``select count(*)`` over each test query) in one DuckDB connection with the
pipeline's settings, on a copy of the run's snapshot, so ``dbt_build / floor`` says what
dbt adds and the floor alone says what no orchestration change can remove.

Not in the floor: the Python model (the redemption forecast, which the copy already
holds) and dbt's unit tests (fixtures, no data). Run by ``bench/bench_pipeline.py``:

    python bench/transform_floor.py <run target folder> <copy of the run's snapshot>

Prints one JSON object: seconds for models, tests and both, and the node counts.
"""

from __future__ import annotations

import graphlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
from pipeline.lifecycle import duckdb_settings

EXECUTED = ("model", "test")


def _statement(node: dict[str, Any]) -> str | None:
    """What executing ``node`` means here; None for what the floor leaves out."""
    if node["resource_type"] == "test":
        return f"select count(*) from ({node['compiled_code']}) as failures"  # noqa: S608
    if node.get("language") != "sql":
        return None
    kind = "view" if node["config"]["materialized"] == "view" else "table"
    # relation_name is "catalog"."schema"."name"; the copy has its own catalog name
    relation = node["relation_name"].split(".", 1)[1]
    return f"create or replace {kind} {relation} as {node['compiled_code']}"


def dependency_order(nodes: dict[str, dict[str, Any]]) -> list[str]:
    graph = {uid: [parent for parent in node["depends_on"]["nodes"] if parent in nodes]
             for uid, node in nodes.items()}
    return list(graphlib.TopologicalSorter(graph).static_order())


def measure(target: Path, snapshot: Path) -> dict[str, Any]:
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    nodes = {uid: node for uid, node in manifest["nodes"].items()
             if node["resource_type"] in EXECUTED}
    seconds = dict.fromkeys(EXECUTED, 0.0)
    counts = dict.fromkeys(EXECUTED, 0)
    config = {"memory_limit": duckdb_settings.memory_limit(),
              "preserve_insertion_order": "false"}
    with duckdb.connect(str(snapshot), config=config) as con:
        for uid in dependency_order(nodes):
            node = nodes[uid]
            statement = _statement(node)
            if statement is None:
                continue
            started = time.perf_counter()
            result = con.execute(statement)
            if result.description:
                result.fetchall()
            seconds[node["resource_type"]] += time.perf_counter() - started
            counts[node["resource_type"]] += 1
    return {"models_s": round(seconds["model"], 2), "tests_s": round(seconds["test"], 2),
            "wall_s": round(sum(seconds.values()), 2),
            "models": counts["model"], "tests": counts["test"]}


def main(argv: Sequence[str] | None = None) -> int:
    target, snapshot = (Path(arg) for arg in (sys.argv[1:] if argv is None else argv))
    for needed in (target / "manifest.json", snapshot):
        if not needed.is_file():
            print(f"transform_floor: {needed} does not exist (a finished run's dbt target "
                  "folder and a copy of its snapshot are needed)", file=sys.stderr)
            return 2
    print(json.dumps(measure(target, snapshot)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
