"""The pointer names the published run with the newest as-of date: a backfill of older
dates publishes its snapshot without ever moving the pointer back."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest

import duckdb
from foundation.paths import RunPaths
from pipeline.lifecycle.runner import EXIT_OK, PipelineRun
from pipeline.lifecycle.step_types import RunConfig, RunPlan
from pipeline.records.pointer import read_pointer
from pipeline.records.publication_order import order_key, takes_the_pointer
from pipeline.steps.publish import step_publish


def publish(home: Path, run_id: str, as_of: date) -> dict:
    """A run whose only step publishes an (empty) snapshot built for ``as_of``."""
    config = RunConfig(home=home, run_id=run_id, seed=1, users=10, as_of=as_of, days=30)
    run = PipelineRun(config, RunPlan((("publish", step_publish),)))
    state = run.claim(time.monotonic())
    duckdb.connect(str(RunPaths(home=home, run_id=run_id).building_snapshot)).close()
    assert run.execute(state) == EXIT_OK
    return json.loads(run.paths.manifest.read_text())


@pytest.mark.pipeline_run
def test_runs_published_out_of_order_leave_the_pointer_on_the_newest_as_of(
        tmp_path: Path) -> None:
    newest = publish(tmp_path, "nov03", date(2026, 11, 3))
    backfill = publish(tmp_path, "nov01", date(2026, 11, 1))
    older_still = publish(tmp_path, "oct30", date(2026, 10, 30))
    assert read_pointer(RunPaths(home=tmp_path, run_id="x")) == "nov03"
    assert newest["pointer_updated"] is True
    for document in (backfill, older_still):
        assert (document["status"], document["pointer_updated"]) == ("success", False)
        assert document["previous_run_id"] == "nov03"
        assert Path(document["snapshot"]["path"]).is_file()  # published all the same
    rerun = publish(tmp_path, "nov03_again", date(2026, 11, 3))  # same date, started later
    assert rerun["pointer_updated"] is True
    assert read_pointer(RunPaths(home=tmp_path, run_id="x")) == "nov03_again"


def test_the_order_is_as_of_first_then_start_then_run_id() -> None:
    served = order_key("2026-11-03", "2026-12-01T00:00:00+00:00", "a")
    assert not takes_the_pointer(order_key("2026-11-02", "2026-12-09T00:00:00+00:00", "b"),
                                 served)
    assert takes_the_pointer(order_key("2026-11-03", "2026-12-02T00:00:00+00:00", "b"), served)
    assert takes_the_pointer(order_key("2026-11-01", "2026-12-02T00:00:00+00:00", "b"), None)
