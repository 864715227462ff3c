"""bench/transform_floor.py: a finished run's compiled SQL executed without dbt."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from foundation.paths import REPO_ROOT
from tests.conftest import TinyRun

SCRIPT = REPO_ROOT / "bench" / "transform_floor.py"


def _floor(target: Path, snapshot: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), str(target), str(snapshot)],
                          env=env, capture_output=True, text=True, check=False)


def test_the_floor_executes_every_sql_model_and_data_test_of_the_run(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    target = tiny_run.home / "logs" / "dbt" / tiny_run.run_id / "target"
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    sql_models = [n for n in nodes if n["resource_type"] == "model" and n["language"] == "sql"]
    data_tests = [n for n in nodes if n["resource_type"] == "test"]
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_run.snapshot, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("drop table marts.fct_sessions")  # rebuilt by the floor, or it fails

    done = _floor(target, copy)

    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["models"] == len(sql_models) and figures["tests"] == len(data_tests)
    assert len(data_tests) > 200 and len(sql_models) > 40
    assert figures["wall_s"] >= figures["models_s"] > 0
    with duckdb.connect(str(copy), read_only=True) as con, \
            duckdb.connect(str(tiny_run.snapshot), read_only=True) as original:
        rebuilt = con.execute("select count(*) from marts.fct_sessions").fetchone()
        assert rebuilt == original.execute("select count(*) from marts.fct_sessions").fetchone()


def test_a_run_without_dbt_artefacts_is_refused(tmp_path: Path) -> None:
    done = _floor(tmp_path / "missing_target", tmp_path / "none.duckdb")
    assert done.returncode == 2
    assert done.stderr == (
        f"transform_floor: {tmp_path / 'missing_target' / 'manifest.json'} does not exist "
        "(a finished run's dbt target folder and a copy of its snapshot are needed)\n")
    assert not (tmp_path / "none.duckdb").exists()
