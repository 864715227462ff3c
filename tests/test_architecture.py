"""Imports run one way and modules are found by import, never by path.

Layers, lowest first: ``foundation`` ← ``generator``, ``loader``, ``codegen`` ← ``pipeline``
← ``streamlit_app``, ``orchestration``. A module may import its own package and any lower
layer, never a higher one or a sibling of its layer; no module imports itself back through
others (no circles); no code outside ``tests/`` edits ``sys.path`` or loads a module from a
file path. ``codegen`` is a build-time tool: it builds on ``foundation`` only and nothing
that runs imports it.

Inside ``pipeline`` the subpackages have floors of their own (:data:`PIPELINE_FLOORS`):
``records`` ← ``lifecycle``, ``storage`` ← ``transform`` ← ``checks`` ← ``evidence`` (the
run report) ← ``steps``, ``alerts`` ← the two runbook CLIs at the top; a subpackage imports
its own floor's modules and lower floors only.
The dashboards reach the pipeline only through what it records and reads back:
``records``, ``checks``, dbt's artefact reader and, to serve from an archive, ``storage``
(:data:`DASHBOARD_MAY_IMPORT`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.paths import REPO_ROOT

LAYERS: dict[str, int] = {
    "foundation": 0,
    "generator": 1,
    "loader": 1,
    "codegen": 1,  # build-time generators (make contracts); nothing at run time imports them
    "pipeline": 2,
    "streamlit_app": 3,
    "orchestration": 3,  # the Dagster definitions: they start runs through pipeline's CLI entry
}
CODE_FOLDERS = (*LAYERS, "bench", "duckdb", "dbt_carton_caps")
#: pipeline's subpackages (and its top-level CLI modules) by floor, lowest first
PIPELINE_FLOORS: dict[str, int] = {
    "records": 0,
    "lifecycle": 1,
    "transform": 2,
    "checks": 3,
    "storage": 1,
    "evidence": 4,
    "steps": 5,
    "alerts": 5,
    "run_pipeline": 6,
    "runs": 6,
    "runs_archive": 5,  # runs.py --archive: the archive's side of that CLI, which imports it
}
#: what of pipeline the dashboards may import (prefixes of module names)
DASHBOARD_MAY_IMPORT = ("pipeline.records", "pipeline.checks", "pipeline.transform.artifacts",
                        # serving from an archive: its runs mirrored into a verified cache
                        "pipeline.storage")
FORBIDDEN_CALLS = ("sys.path.insert", "sys.path.append", "spec_from_file_location",
                   "importlib.import_module", "SourceFileLoader")
#: the one file that may import by name (never by path, never a name from outside the
#: project's code): dbt's worker imports, ahead of dbt, the modules the project's Python
#: models name in their own import statements (pipeline/transform/worker.py)
IMPORTS_BY_NAME = {"importlib.import_module": ("pipeline/transform/worker.py",)}


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((REPO_ROOT / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every project module ``path`` imports (at any depth of the file)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            if name.split(".")[0] in LAYERS:
                yield name


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for path in python_files(*LAYERS)}


def test_every_import_points_to_the_same_or_a_lower_layer() -> None:
    wrong = []
    for name, path in project_modules().items():
        package = name.split(".")[0]
        for target in imported_modules(path):
            other = target.split(".")[0]
            if other != package and LAYERS[other] >= LAYERS[package]:
                wrong.append(f"{path.relative_to(REPO_ROOT)} imports {target}")
    assert wrong == []


def test_there_are_no_import_circles() -> None:
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target in imported_modules(path):
            # `from pipeline import drift` names a module; `from pipeline.x import f` a member
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets

    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    # a package's __init__ re-exporting its modules is not a circle of concerns
    cycles = [c for c in cycles if not any(m in LAYERS for m in c)]
    assert cycles == []


def test_nothing_that_runs_imports_the_build_time_generators() -> None:
    """``codegen`` writes files at build time; the pipeline and the dashboards read what it
    wrote, never the generators themselves."""
    importers = [f"{path.relative_to(REPO_ROOT)} imports {target}"
                 for name, path in project_modules().items() if not name.startswith("codegen")
                 for target in imported_modules(path) if target.split(".")[0] == "codegen"]
    assert importers == []


@pytest.mark.parametrize("call", FORBIDDEN_CALLS)
def test_no_code_outside_tests_finds_modules_by_path(call: str) -> None:
    offenders = [str(path.relative_to(REPO_ROOT)) for path in python_files(*CODE_FOLDERS)
                 if call in path.read_text()]
    assert offenders == list(IMPORTS_BY_NAME.get(call, ()))


def test_duckdb_folder_is_not_a_package() -> None:
    """A ``duckdb/__init__.py`` would shadow the DuckDB library for every import."""
    assert not (REPO_ROOT / "duckdb" / "__init__.py").exists()


def _pipeline_part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "pipeline" and len(parts) > 1 else None


def test_pipeline_subpackages_import_only_their_floor_and_lower() -> None:
    modules = project_modules()
    unknown = sorted({part for name in modules if (part := _pipeline_part(name))
                      and part not in PIPELINE_FLOORS})
    assert unknown == [], "a pipeline module outside the declared floors"
    wrong = []
    for name, path in modules.items():
        source = _pipeline_part(name)
        if source is None:
            continue
        for target in imported_modules(path):
            other = _pipeline_part(target)
            if other is None or other == source or other not in PIPELINE_FLOORS:
                continue
            if PIPELINE_FLOORS[other] >= PIPELINE_FLOORS[source]:
                wrong.append(f"{path.relative_to(REPO_ROOT)} imports {target}")
    assert wrong == []


def test_the_dashboards_reach_the_pipeline_only_through_its_records_and_readers() -> None:
    wrong = [f"{path.relative_to(REPO_ROOT)} imports {target}"
             for name, path in project_modules().items() if name.startswith("streamlit_app")
             for target in imported_modules(path)
             if target.startswith("pipeline")
             and not target.startswith(DASHBOARD_MAY_IMPORT)
             and target.count(".") > 1]  # a bare subpackage (``from pipeline.x import y``)
    assert wrong == []
