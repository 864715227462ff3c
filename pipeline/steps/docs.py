"""dbt's own documentation site for the run, as a step after the quality gate and the ops
record and before publication (it reads the ``.building`` snapshot: once published, the
snapshot is read by the dashboards and must not be opened for writing again).

The site is evidence, not a gate: a page that cannot be written is a warning and the run's
outcome stands. The manifest's ``docs`` section says whether it was written and where.
"""

from __future__ import annotations

import logging
import time

from pipeline.lifecycle import interrupts
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records.run_manifest import ManifestUpdate
from pipeline.steps.build import dbt_invocation
from pipeline.transform.commands import docs_generate

logger = logging.getLogger(__name__)


def step_dbt_docs(state: RunState) -> StepResult:
    """``logs/dbt/<run_id>/target/static_index.html`` from the build's compiled manifest
    and the snapshot's catalog (the DuckDB snapshot on either engine: Spark's results are
    written back into it by then)."""
    started = time.perf_counter()
    try:
        page = docs_generate(dbt_invocation(state))
    except Exception as exc:  # the docs are evidence, not a gate
        # ... but a signal that reached the run while dbt ran (and surfaced as an ordinary
        # error, e.g. inside the worker's start-up) stops the run like in any other step
        interrupts.check()
        logger.debug("dbt's docs could not be generated", exc_info=True)
        section = {"written": False, "error": str(exc)[:500]}
        return StepResult({"written": False}, manifest=ManifestUpdate(docs=section),
                          warnings=(f"dbt's documentation site could not be written: {exc}",))
    section = {"written": True, "path": str(page), "size_bytes": page.stat().st_size,
               "generate_s": round(time.perf_counter() - started, 3)}
    return StepResult(dict(section), manifest=ManifestUpdate(docs=section))
