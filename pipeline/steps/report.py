"""The run report as a step (after health, from the ``.building`` snapshot) and as part of
a failed run's conclusion (from its manifest alone: its snapshot is gone by then).

A report that cannot be written never fails the run: it is a warning, the run's own
outcome stands (``runs.py report RUN_ID`` writes it again later).
"""

from __future__ import annotations

import copy
import logging

from pipeline.evidence.report import write_report
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records.run_manifest import ManifestUpdate
from pipeline.steps import health

logger = logging.getLogger(__name__)


def step_report(state: RunState) -> StepResult:
    """logs/report_<run_id>.html from the manifest so far and the snapshot being built."""
    try:
        path = write_report(state.paths, state.manifest, state.paths.building_snapshot)
    except Exception as exc:  # the report is evidence, not a gate
        logger.debug("the run report could not be written", exc_info=True)
        return StepResult({"written": False},
                          warnings=(f"the run report could not be written: {exc}",))
    return StepResult({"written": True, "path": str(path), "size_bytes": path.stat().st_size})


def conclude(state: RunState) -> ManifestUpdate:
    """A failed or interrupted run's health (pipeline/steps/health.py) and its report,
    which shows the cause; a published run's report was written by its step."""
    update = health.conclude(state)
    if state.manifest.status == "success":
        return update
    try:
        final = copy.deepcopy(state.manifest)
        final.apply(update, step=None)
        write_report(state.paths, final, None)
    except Exception:
        logger.debug("the failed run's report could not be written", exc_info=True)
    return update
