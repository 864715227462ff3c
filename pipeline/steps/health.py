"""The run's health, assessed from everything the run recorded (pipeline/checks/health.py).

As a step, after every check has recorded its results and before the quality gate judges
them, so the snapshot carries its findings (``ops.run_findings``, ``ops.finding_impacts``)
and the manifest its ``health``; and once more when a run ends without publishing, so a
failed or interrupted run's manifest says why in the same terms.
"""

from __future__ import annotations

import logging

from pipeline.checks import health
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records.run_manifest import ManifestUpdate

logger = logging.getLogger(__name__)


def assess(state: RunState) -> health.RunHealth:
    """The run's health as its manifest stands now, with its dbt graph and table owners."""
    return health.assess_run(state.paths, state.manifest)


def step_health(state: RunState) -> StepResult:
    """Findings by root cause, their severity and what they affect; the one status."""
    assessed = assess(state)
    for finding in assessed.findings:
        logger.info("  %s finding: %s", finding.severity, finding.title)
    return StepResult({"status": assessed.status, **assessed.counts()},
                      manifest=ManifestUpdate(health=assessed.to_json()),
                      ops=health.ops_rows(state.config.run_id, assessed))


def conclude(state: RunState) -> ManifestUpdate:
    """When a run ends without publishing: its health, failure included (never raises
    over the run's own error: an assessment that fails leaves the manifest as it is)."""
    if state.manifest.status == "success":
        return ManifestUpdate()
    try:
        return ManifestUpdate(health=assess(state).to_json())
    except Exception:
        logger.debug("the health of the failed run could not be assessed", exc_info=True)
        return ManifestUpdate()
