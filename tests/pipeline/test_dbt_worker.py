"""dbt's worker process (pipeline/transform/worker.py): while it waits for its first command
it imports what the project's Python models import, and stops the moment a command waits."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import IO

import pytest

from foundation.paths import DBT_PROJECT_DIR
from pipeline.transform.worker import import_while_idle, python_model_imports


def _node(language: str, code: str) -> SimpleNamespace:
    return SimpleNamespace(language=language, raw_code=code)


def _manifest(*nodes: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(nodes={f"model.p.m{i}": node for i, node in enumerate(nodes)})


def test_the_projects_python_models_imports_are_found_even_inside_functions() -> None:
    models = sorted((DBT_PROJECT_DIR / "models").rglob("*.py"))
    assert models, "the project has no Python model"
    manifest = _manifest(*(_node("python", path.read_text(encoding="utf-8")) for path in models),
                         _node("sql", "select 1 as import_nothing"))
    names = python_model_imports(manifest)
    # the forecast imports statsmodels inside the function that fits; the anomaly scores
    # import the pipeline's own module at the top
    assert "statsmodels.tsa.exponential_smoothing.ets" in names
    assert "pipeline.checks.series_anomalies" in names
    assert {"numpy", "pandas", "pyarrow"} <= set(names)


def test_relative_imports_broken_models_and_sql_models_add_nothing() -> None:
    manifest = _manifest(
        _node("python", "from . import sibling\nimport json, csv\n"
                        "def model(dbt, session):\n    from math import tau\n    return tau\n"),
        _node("python", "def model(dbt, session:\n    import never_read\n"),
        _node("sql", "import not_python"),
    )
    assert python_model_imports(manifest) == ["json", "csv", "math"]


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for this test's modules, which leave sys.modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("idle_"):
            del sys.modules[name]


@pytest.fixture
def commands() -> Iterator[tuple[IO[str], int]]:
    """The worker's stdin as a pipe: the text stream it reads and the end a run writes to."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, encoding="utf-8") as stream:
        try:
            yield stream, write_end
        finally:
            os.close(write_end)


def test_every_module_is_imported_while_no_command_waits_and_a_broken_one_is_skipped(
        modules: Path, commands: tuple[IO[str], int]) -> None:
    (modules / "idle_first.py").write_text("VALUE = 1\n")
    (modules / "idle_broken.py").write_text("raise ImportError('needs a library not here')\n")
    (modules / "idle_last.py").write_text("VALUE = 2\n")
    stream, _write_end = commands
    imported = import_while_idle(["idle_first", "idle_broken", "idle_missing", "idle_last"],
                                 stream)
    assert imported == ["idle_first", "idle_last"]
    assert "idle_first" in sys.modules and "idle_last" in sys.modules
    assert "idle_broken" not in sys.modules


def test_nothing_is_imported_once_a_command_waits(
        modules: Path, commands: tuple[IO[str], int]) -> None:
    (modules / "idle_unwanted.py").write_text("VALUE = 1\n")
    stream, write_end = commands
    os.write(write_end, b'["build"]\n')
    assert import_while_idle(["idle_unwanted"], stream) == []
    assert "idle_unwanted" not in sys.modules
    assert stream.readline() == '["build"]\n'  # the command is still there to be read


def test_a_command_arriving_midway_stops_the_imports_after_the_current_one(
        modules: Path, commands: tuple[IO[str], int]) -> None:
    stream, write_end = commands
    # the run sends its command while the worker imports the first module
    (modules / "idle_slow.py").write_text(f"import os\nos.write({write_end}, b'[\"build\"]\\n')\n")
    (modules / "idle_later.py").write_text("VALUE = 1\n")
    assert import_while_idle(["idle_slow", "idle_later"], stream) == ["idle_slow"]
    assert "idle_later" not in sys.modules
    assert stream.readline() == '["build"]\n'
