"""Fixtures for the dbt project tests: one small generated raw DB, built once per session."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import loader
from generator.data_generator import GeneratorConfig, generate_dataset
from pipeline.transform.invocation import DbtInvocation, dbt_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO_ROOT / "dbt_carton_caps"
DBT = Path(sys.executable).parent / "dbt"
AS_OF = dt.date(2025, 6, 30)
SEED = 7
USERS = 300
#: The key the loader hashes PII with for these builds (a pipeline run uses its home's key,
#: pipeline/records/pii_key.py); dbt itself never gets it.
PII_KEY = "dbt-tests-pii-key"


def import_loader() -> ModuleType:
    """The raw loader (the ``loader`` package)."""
    return loader


def run_dbt(
    args: list[str], db_path: Path, work_dir: Path, as_of: dt.date = AS_OF
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` the way the pipeline does: static profile, per-run target/log dirs."""
    env = dbt_environment(DbtInvocation(db_path=db_path, work_dir=work_dir,
                                        as_of=as_of.isoformat()), str(db_path))
    command = [
        str(DBT), *args,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
    ]
    return subprocess.run(
        command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600,
        check=False,
    )


def build_raw_db(work_dir: Path, *, faults: tuple[str, ...] = (), users: int = USERS) -> Path:
    """Generate a seeded dataset and load it into a fresh DuckDB file; returns the file."""
    data_dir = work_dir / "data"
    generate_dataset(data_dir, GeneratorConfig(seed=SEED, users=users, as_of=AS_OF, faults=faults))
    db_path = work_dir / "carton_caps_test.duckdb"
    import_loader().load_raw(data_dir, db_path, "dbt_test", pii_key=PII_KEY)
    return db_path


@dataclass(frozen=True)
class DbtBuild:
    """A finished `dbt build` over a small generated raw DB."""

    db_path: Path
    work_dir: Path
    result: subprocess.CompletedProcess[str]

    @property
    def target(self) -> Path:
        return self.work_dir / "target"

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.target / "manifest.json").read_text())

    @property
    def run_results(self) -> dict[str, Any]:
        return json.loads((self.target / "run_results.json").read_text())


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory) -> DbtBuild:
    work_dir = tmp_path_factory.mktemp("dbt_build")
    db_path = build_raw_db(work_dir)
    result = run_dbt(["build"], db_path, work_dir)
    return DbtBuild(db_path=db_path, work_dir=work_dir, result=result)
