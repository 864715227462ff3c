"""The code version that keys dbt's cached parse and the unit tests' cache: every file of
the dbt project counts, except what is derived from it or written by dbt."""

from __future__ import annotations

from pathlib import Path

from pipeline.transform.parse_cache import code_version


def _project(root: Path) -> Path:
    (root / "models" / "intermediate").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: p\n", encoding="utf-8")
    (root / "models" / "intermediate" / "forecast.py").write_text(
        "def model(dbt, session):\n    return None\n", encoding="utf-8")
    return root


def test_python_bytecode_of_a_model_does_not_change_the_code_version(tmp_path: Path) -> None:
    """Importing a Python model (the forecast's tests do) writes ``__pycache__`` beside it
    when bytecode is written (``make`` keeps it on): that is not a code change."""
    project = _project(tmp_path)
    before = code_version(project)
    cache = project / "models" / "intermediate" / "__pycache__"
    cache.mkdir()
    (cache / "forecast.cpython-311.pyc").write_bytes(b"\x00bytecode")
    assert code_version(project) == before
    # dbt's own folders do not count either; a new model does
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}", encoding="utf-8")
    assert code_version(project) == before
    (project / "models" / "intermediate" / "new_model.sql").write_text("select 1",
                                                                       encoding="utf-8")
    assert code_version(project) != before


def test_a_changed_python_model_changes_the_code_version(tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = code_version(project)
    (project / "models" / "intermediate" / "forecast.py").write_text(
        "def model(dbt, session):\n    return 1\n", encoding="utf-8")
    assert code_version(project) != before
