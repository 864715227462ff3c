"""A backfill by date through Dagster: each partition is one pipeline run that publishes
its own snapshot, and the pointer names the newest as-of date whatever the order the runs
finish in (the rule of pipeline/records/publication_order.py, here with runs published out
of order: the newest date first, as when last week is backfilled after today's run)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from foundation.paths import HomePaths
from orchestration.asset_graph import SNAPSHOT
from pipeline.records.pointer import read_pointer
from tests.orchestration.conftest import Orchestration, assert_complete

pytestmark = pytest.mark.orchestration
#: the order the partitions are materialised in: the newest first, then the older two
DATES = ("2026-11-10", "2026-11-08", "2026-11-09")


def test_a_backfill_of_three_dates_leaves_the_pointer_on_the_newest_as_of(
        orch: Orchestration, tmp_path: Path) -> None:
    own = dataclasses.replace(orch, home=tmp_path / "backfill_home")
    own.home.mkdir()
    run_ids: dict[str, str] = {}
    moved: dict[str, bool] = {}
    for as_of in DATES:
        result = own.materialize(as_of)
        assert result.success, as_of
        run_ids[as_of] = own.pipeline_run_id(result)
        [snapshot] = [e for e in result.get_asset_materialization_events()
                      if e.asset_key == SNAPSHOT]
        assert snapshot.partition == as_of
        moved[as_of] = snapshot.materialization.metadata["pointer_moved"].value
        assert_complete(own.manifest(run_ids[as_of]), as_of=as_of)
    paths = HomePaths(own.home)
    assert len(set(run_ids.values())) == 3
    assert all(paths.run(run_id).snapshot.is_file() for run_id in run_ids.values())
    assert read_pointer(paths) == run_ids["2026-11-10"]
    assert moved == {"2026-11-10": True, "2026-11-08": False, "2026-11-09": False}
