"""Dagster's own command line materialises a partition in a child process: the run's
parameters come from the CARTON_CAPS_* variables, as for run_pipeline.py; the run publishes
a complete manifest naming the Dagster run, and the Dagster instance records the pipeline
run id and every asset check of that run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from foundation.paths import REPO_ROOT, HomePaths
from orchestration.results import RUN_ID_KEY
from pipeline.records.pointer import read_pointer
from tests.orchestration.conftest import Orchestration, assert_complete

pytestmark = pytest.mark.orchestration
AS_OF = "2026-11-03"
TIMEOUT_S = 900


def test_dagster_asset_materialize_runs_one_partition(orch: Orchestration,
                                                      tmp_path: Path) -> None:
    home, dagster_home = tmp_path / "home", tmp_path / "dagster_home"
    home.mkdir()
    dagster_home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "CARTON_CAPS_HOME": str(home),
           "CARTON_CAPS_USERS": "300", "CARTON_CAPS_SEED": "7"}
    env.pop("CARTON_CAPS_ALERT_WEBHOOK", None)
    dagster = str(Path(sys.executable).with_name("dagster"))
    done = subprocess.run(
        [dagster, "asset", "materialize", "-m", "orchestration.definitions",
         "--select", "*", "--partition", AS_OF],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
        check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        run_id = run.tags[RUN_ID_KEY]
        keys = list(orch.defs.resolve_asset_graph().asset_check_keys)
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
        assert set(checks) == set(keys)
        assert {record.run_id for record in checks.values()} == {run.run_id}
    document = Orchestration(home=home, defs=orch.defs, graph=orch.graph,
                             instance=orch.instance).manifest(run_id)
    assert_complete(document, as_of=AS_OF)
    assert (document["params"]["users"], document["params"]["seed"]) == (300, 7)
    assert document["orchestrator"]["run_id"] == run.run_id
    assert read_pointer(HomePaths(home)) == run_id
