"""The run's OpenLineage events (pipeline/evidence/openlineage.py), written as the run
concludes, once every step and the run's own outcome are known; after the run report.

Lineage is evidence, not a gate: events that cannot be built or sent are a warning.
"""

from __future__ import annotations

import copy
import logging

from pipeline.lifecycle.step_types import RunState
from pipeline.records.run_manifest import ManifestUpdate, RunWarning
from pipeline.steps import report

logger = logging.getLogger(__name__)


def conclude(state: RunState) -> ManifestUpdate:
    """The run report's conclusion (and health), then logs/openlineage/<run_id>.ndjson."""
    update = report.conclude(state)
    try:
        # imported here, as the run concludes (a failure is this warning, like any other):
        # OpenLineage's client and sqlglot take about 0.3 s, which the run's command line
        # would otherwise spend before dbt's worker starts
        from pipeline.evidence import openlineage

        final = copy.deepcopy(state.manifest)
        final.apply(update, step=None)
        path, warnings = openlineage.emit(openlineage.build_events(final, state.paths),
                                          state.paths)
        logger.debug("OpenLineage events: %s", path)
    except Exception as exc:
        logger.debug("the OpenLineage events could not be written", exc_info=True)
        warnings = [f"the OpenLineage events could not be written: {type(exc).__name__}"]
    return update.merged(ManifestUpdate(warnings=tuple(RunWarning(None, w) for w in warnings)))
