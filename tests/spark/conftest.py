"""One DuckDB run and one Spark run of the same parameters, shared by the Spark tests.

Spark starts a JVM per run (~25 s): the module builds each run once, small (3,000 users),
and every test reads their manifests and snapshots.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foundation.paths import REPO_ROOT

SEED, USERS, AS_OF, DAYS = 11, 3000, "2026-11-01", 365
RUN_TIMEOUT_S = 1500


@dataclass(frozen=True)
class EngineRuns:
    home: Path

    def manifest(self, run_id: str) -> dict[str, Any]:
        return json.loads((self.home / "logs" / f"pipeline_{run_id}.json").read_text())

    def snapshot(self, run_id: str) -> Path:
        return self.home / "duckdb" / f"carton_caps_{run_id}.duckdb"


def run_pipeline(home: Path, run_id: str, engine: str, *extra: str) -> int:
    """One pipeline run in its own process, as an operator starts it."""
    command = [sys.executable, "pipeline/run_pipeline.py", "--home", str(home),
               "--seed", str(SEED), "--users", str(USERS), "--as-of", AS_OF,
               "--days", str(DAYS), "--run-id", run_id, "--engine", engine, "--quiet", *extra]
    return subprocess.run(command, cwd=REPO_ROOT, timeout=RUN_TIMEOUT_S,
                          capture_output=True, check=False).returncode


@pytest.fixture(scope="session")
def engine_runs(tmp_path_factory: pytest.TempPathFactory) -> EngineRuns:
    home = tmp_path_factory.mktemp("spark_home")
    for engine in ("duckdb", "spark"):
        exit_code = run_pipeline(home, engine, engine)
        assert exit_code == 0, (home / "logs" / f"pipeline_{engine}.log").read_text()[-4000:]
    return EngineRuns(home=home)
