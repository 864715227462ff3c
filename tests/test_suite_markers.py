"""Every test that runs a whole pipeline (or a dbt build of its own) says so.

``make test-fast`` leaves out the tests marked ``pipeline_run`` (and the browser and slow
ones): it runs the unit-level tests and those reading the shared tiny run and shared dbt
build (the session fixtures in ``tests/conftest.py`` and ``tests/dbt/conftest.py``). The
mark is the only thing that keeps a whole run out of that loop, so it is checked here, from
the source: a test is a whole-run test when its body, a helper of its module or a fixture it
asks for (of its module or a conftest) calls one of :data:`WHOLE_RUN_CALLS`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"
MARK = "pipeline_run"
#: what starts a pipeline run (even one refused at once), a dbt build or an orchestrated run
WHOLE_RUN_CALLS = re.compile(
    r"\brun_tiny\(|\brun_pipeline\.(main|launch)\(|\blaunch\(|\bPipelineRun\(|run_pipeline\.py"
    r"|\bbuild_raw_db\(|\bmaterialize\(|\b_pipeline_process\(|\brun_dbt\(")
#: built once per session and shared: reading them is what the fast loop is for
SHARED_FIXTURES = {"tiny_run", "dbt_build"}
#: run only by their own make targets, with their own marks
OWN_TARGETS = ("spark", "orchestration")


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _is_fixture(node: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in node.decorator_list)


def _marked(decorators: list[ast.expr]) -> bool:
    return any(MARK in ast.unparse(d) for d in decorators)


def _module_marked(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
        and MARK in ast.unparse(node.value) for node in tree.body)


def _heavy(functions: dict[str, ast.FunctionDef], fixtures: dict[str, bool],
           source: str) -> set[str]:
    """Names of the module's functions that (through helpers and fixtures) run a pipeline."""
    heavy = {name for name, node in functions.items()
             if WHOLE_RUN_CALLS.search(ast.get_source_segment(source, node) or "")}
    changed = True
    while changed:
        changed = False
        for name, node in functions.items():
            if name in heavy:
                continue
            called = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            params = {a.arg for a in node.args.args}
            if called & heavy or any(fixtures.get(p) for p in params if p not in functions) \
                    or params & {f for f in heavy if _is_fixture(functions[f])}:
                heavy.add(name)
                changed = True
    return heavy


def _conftest_fixtures(test_file: Path) -> dict[str, bool]:
    """Fixture name → whether it runs a pipeline, from the conftests above ``test_file``."""
    found: dict[str, bool] = {}
    for folder in reversed([test_file.parent, *test_file.parent.parents]):
        conftest = folder / "conftest.py"
        if not conftest.is_file() or TESTS not in (conftest.parent, *conftest.parents):
            continue
        source = conftest.read_text(encoding="utf-8")
        functions = _functions(ast.parse(source))
        heavy = _heavy(functions, found, source)
        found.update({name: name in heavy and name not in SHARED_FIXTURES
                      for name, node in functions.items() if _is_fixture(node)})
    return found


def unmarked_whole_run_tests(test_file: Path) -> list[str]:
    source = test_file.read_text(encoding="utf-8")
    tree = ast.parse(source)
    if _module_marked(tree):
        return []
    functions = _functions(tree)
    heavy = _heavy(functions, _conftest_fixtures(test_file), source)
    tests = [node for cls in tree.body if isinstance(cls, ast.ClassDef)
             for node in cls.body if isinstance(node, ast.FunctionDef)]
    tests += list(functions.values())
    return [node.name for node in tests if node.name.startswith("test_")
            and node.name in heavy and not _marked(node.decorator_list)]


def suite_files() -> Iterator[Path]:
    for path in sorted(TESTS.rglob("test_*.py")):
        if path != Path(__file__) and not any(
                part in OWN_TARGETS for part in path.relative_to(TESTS).parts):
            yield path


@pytest.mark.parametrize("test_file", list(suite_files()),
                         ids=lambda p: str(p.relative_to(TESTS)))
def test_every_whole_run_test_is_marked(test_file: Path) -> None:
    assert unmarked_whole_run_tests(test_file) == [], (
        f"mark these @pytest.mark.{MARK} (they run a whole pipeline or a dbt build)")


def test_the_check_sees_a_whole_run_through_a_helper_and_a_fixture(tmp_path: Path) -> None:
    sample = tmp_path / "tests" / "test_sample.py"
    sample.parent.mkdir()
    sample.write_text(
        "import pytest\n"
        "def _twice(home):\n    run_tiny(home, 'a')\n"
        "@pytest.fixture\ndef built(tmp_path):\n    _twice(tmp_path)\n"
        "def test_direct(tmp_path):\n    run_pipeline.main([])\n"
        "def test_via_fixture(built):\n    pass\n"
        "def test_via_helper(tmp_path):\n    _twice(tmp_path)\n"
        "@pytest.mark.pipeline_run\ndef test_marked(tmp_path):\n    _twice(tmp_path)\n"
        "def test_shared(tiny_run):\n    assert tiny_run\n")
    assert unmarked_whole_run_tests(sample) == ["test_direct", "test_via_fixture",
                                                "test_via_helper"]
