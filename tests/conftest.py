"""Shared fixtures: one seeded tiny pipeline run, built once per test session."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foundation.paths import REPO_ROOT
from pipeline import run_pipeline

# The runbook scripts that tests start as child processes (`python pipeline/run_pipeline.py`,
# `python duckdb/load_raw.py`, ...) import the project's packages, which `make` installs
# (editable). Putting the checkout first on their path makes them import the checkout under
# test even from a venv where another checkout (or none) is installed.
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))

#: The Spark tests need PySpark and Java (requirements-spark.txt) and minutes per run:
#: only `make test-spark` (which sets this variable) collects them, `make test` never does.
#: The same for the orchestration's tests, which need Dagster (requirements-orchestration.txt):
#: only `make test-orchestration` collects them.
collect_ignore = [
    *([] if os.environ.get("CARTON_CAPS_SPARK_TESTS") else ["spark"]),
    *([] if os.environ.get("CARTON_CAPS_ORCHESTRATION_TESTS") else ["orchestration"]),
]

TINY_ARGS = ("--seed", "7", "--users", "300", "--as-of", "2026-11-01", "--quiet")


@dataclass(frozen=True)
class TinyRun:
    """A finished tiny run in its own home: where its files are and what it recorded."""

    home: Path
    run_id: str

    @property
    def snapshot(self) -> Path:
        return self.home / "duckdb" / f"carton_caps_{self.run_id}.duckdb"

    @property
    def manifest_path(self) -> Path:
        return self.home / "logs" / f"pipeline_{self.run_id}.json"

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest_path.read_text())

    @property
    def pointer(self) -> Path:
        return self.home / "duckdb" / "LATEST_DB.txt"


def run_tiny(home: Path, run_id: str, *extra: str) -> int:
    return run_pipeline.main(["--home", str(home), "--run-id", run_id, *TINY_ARGS, *extra])


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """The seeded tiny run every component test may read (never modify it)."""
    home = tmp_path_factory.mktemp("tiny_home")
    exit_code = run_tiny(home, "tiny")
    assert exit_code == 0, (home / "logs" / "pipeline_tiny.json").read_text()
    return TinyRun(home=home, run_id="tiny")
