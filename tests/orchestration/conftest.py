"""One home and one Dagster instance for the orchestration tests, and a run helper.

Collected only by ``make test-orchestration`` (tests/conftest.py): Dagster comes from
requirements-orchestration.txt. Runs are small (300 users; 1,000 for the one partition the
issue names) and one at a time, on the 2-core machine every test shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from foundation.paths import HomePaths
from orchestration.asset_graph import AssetGraph, build_graph
from orchestration.assets import ASSET_NAME
from orchestration.dbt_manifest import load_manifest
from orchestration.definitions import build_definitions
from orchestration.results import RUN_ID_KEY
from orchestration.schedules import JOB_NAME
from pipeline.records import manifest as manifest_io
from pipeline.steps.plan import run_plan

SEED = 7


@dataclass
class Orchestration:
    """The definitions loaded for one home, and an instance recording what Dagster saw."""

    home: Path
    defs: dg.Definitions
    graph: AssetGraph
    instance: dg.DagsterInstance

    def run_config(self, **values: Any) -> dict[str, Any]:
        config = {"home": str(self.home), "seed": SEED, "users": 300, **values}
        return {"ops": {ASSET_NAME: {"config": config}}}

    def materialize(self, partition: str, **values: Any) -> dg.ExecuteInProcessResult:
        """The daily job for one partition, in process, as a schedule or backfill runs it."""
        job = self.defs.resolve_job_def(JOB_NAME)
        return job.execute_in_process(partition_key=partition, instance=self.instance,
                                      run_config=self.run_config(**values),
                                      raise_on_error=False)

    def pipeline_run_id(self, result: dg.ExecuteInProcessResult) -> str:
        """The pipeline's run id, as Dagster tagged its run."""
        run = self.instance.get_run_by_id(result.run_id)
        assert run is not None
        return run.tags[RUN_ID_KEY]

    def manifest(self, run_id: str) -> dict[str, Any]:
        document = manifest_io.load(HomePaths(self.home).run(run_id).manifest)
        assert document is not None, "the manifest must pass its schema"
        return document


@pytest.fixture(scope="session")
def orch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orchestration]:
    home = tmp_path_factory.mktemp("orchestration_home")
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        yield Orchestration(home=home, defs=build_definitions(home),
                            graph=build_graph(load_manifest(home)), instance=instance)


def assert_complete(document: dict[str, Any], *, as_of: str) -> None:
    """What a published run's manifest holds, every section of it."""
    assert document["status"] == "success"
    assert [(s["name"], s["status"]) for s in document["steps"]] == [
        (name, "ok") for name, _step in run_plan().steps]  # a default run's steps
    assert document["params"]["as_of"] == as_of
    assert document["pointer_updated"] in (True, False)
    assert len(document["snapshot"]["sha256"]) == 64 and document["snapshot"]["size_bytes"] > 0
    assert document["published_at"] and document["finished_at"] and document["duration_s"] > 0
    assert document["row_counts"]["raw"] and document["row_counts"]["marts"]
    assert document["dbt"]["total"] > 0 and document["dbt"]["error"] == 0
    assert document["contracts"]["summary"]["total"] > 0
    assert document["health"]["status"] in ("healthy", "warnings")
    assert set(document["ingestion"]["tables"]) >= set(document["row_counts"]["raw"]) - {
        "_rejects"}
    assert document["orchestrator"]["name"] == "dagster"
    assert document["orchestrator"]["partition"] == as_of
