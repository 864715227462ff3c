"""The dbt commands a run sends: ``source freshness`` then ``build`` (dbt's own order).

Each goes to the run's worker (:mod:`pipeline.transform.session`) or, for an engine with
a launcher, to a process of its own (:mod:`pipeline.transform.one_shot`); its results are
summarised into the manifest's one dbt summary
(:class:`~pipeline.records.run_manifest.DbtSummary`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from foundation.paths import DBT_STATIC_DOCS_NAME
from pipeline.records.run_manifest import DbtSummary
from pipeline.transform import artifacts as dbt_artifacts
from pipeline.transform.invocation import DbtError, DbtInvocation, project_dir_override
from pipeline.transform.one_shot import run_once
from pipeline.transform.session import close_session, session
from pipeline.transform.unit_test_cache import (
    EXCLUDE_UNIT_TESTS,
    UnitTestCache,
    add_cached_results,
    declared_unit_tests,
)

logger = logging.getLogger(__name__)

#: dbt's file log at info, not its default debug: the debug lines (every query's SQL, every
#: adapter event) cost about a tenth of a small run's build (a 1,000-user build: 20.4 and
#: 22.5 s at info, 23.8 and 23.8 s at debug, alternated); the results, errors and the
#: failing nodes' compiled SQL are kept in the run's artefacts either way
COMMAND_FLAGS = ("--log-level-file", "info")


def run_dbt(command: list[str], invocation: DbtInvocation) -> int:
    """Run ``dbt <command>`` for this run: in its dbt worker, or through the invocation's
    launcher when it has one (the Spark engine runs dbt inside its own session)."""
    if invocation.launcher:
        return run_once([*command, *COMMAND_FLAGS], invocation)
    return session(invocation).run([*command, *COMMAND_FLAGS])


def summarize(target_path: Path, *, exit_code: int | None = None) -> DbtSummary:
    """The dbt summary of the results a command left in ``target_path``."""
    document = dbt_artifacts.read_run_results(target_path)
    results = None if document is None else list(document.get("results") or [])
    return DbtSummary.from_results(results, exit_code=exit_code)


def build(invocation: DbtInvocation) -> DbtSummary:
    """``dbt build``; raises DbtError naming the failing nodes when anything errors.

    Unit tests already passed by this code version are not run again: their cached
    results join the build's own (:mod:`pipeline.transform.unit_test_cache`)."""
    cache = UnitTestCache.for_run(invocation.work_dir,
                                  project_dir_override() or invocation.project_dir,
                                  invocation.extra_args)
    cached = cache.results() if invocation.unit_tests == "cached" else None
    exit_code = run_dbt(["build", *(EXCLUDE_UNIT_TESTS if cached else ())], invocation)
    # the run's last dbt command: end dbt now. Its last connection closing is when DuckDB
    # writes what the build left in its write-ahead log into the snapshot, so a disk too
    # small for the built tables fails here, at dbt_build, not at whichever step follows;
    # and a failed build's details and raw contract can then be read from the snapshot
    try:
        close_session(invocation)
    except DbtError:
        if exit_code == 0:
            raise
    if cached:
        manifest = dbt_artifacts.load(invocation.target_path).manifest
        if not add_cached_results(invocation.target_path, cached,
                                  declared_unit_tests(manifest) if manifest else None):
            logger.warning("the unit-test cache %s did not list this build's unit tests; "
                           "discarded", cache.path.name)
            cache.discard()
    elif exit_code == 0:
        cache.store(invocation.target_path, invocation.work_dir.name)
    summary = summarize(invocation.target_path, exit_code=exit_code)
    if exit_code != 0:
        errors = [f for f in summary.failures if f["status"] != "warn"]
        if errors:
            names = ", ".join(str(f["unique_id"]).split(".", 2)[-1] for f in errors[:5])
            more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
            raise DbtError(f"dbt build failed: {len(errors)} failing node(s): {names}{more}",
                           summary)
        raise DbtError(f"dbt build exited with code {exit_code} before producing results; "
                       f"see {invocation.log_path / 'dbt.log'}", summary)
    return summary


def source_freshness(invocation: DbtInvocation) -> dict[str, Any]:
    """``dbt source freshness``; returns per-source status without failing the run.

    Freshness of the load stamp is reported here; the data contracts decide whether a
    stale table fails the run.
    """
    # the run's first dbt command (dbt's own order: freshness of the sources, then the
    # build); the worker stays up for the build, which ends it
    run_dbt(["source", "freshness"], invocation)  # writes <target-path>/sources.json
    document = dbt_artifacts.read_sources(invocation.target_path)
    if document is None:
        return {"available": False, "results": []}
    results = [
        {
            "unique_id": r.get("unique_id"),
            "status": r.get("status"),
            "max_loaded_at": r.get("max_loaded_at"),
            "snapshotted_at": r.get("snapshotted_at"),
            "age_s": r.get("max_loaded_at_time_ago_in_s"),
        }
        for r in document.get("results", [])
    ]
    return {"available": True, "results": results}


#: its companion that fetches manifest.json and catalog.json (for ``dbt docs serve`` only;
#: a browser opening it as a file cannot), dropped so the run keeps the one offline page
_SERVED_DOCS_NAME = "index.html"


def docs_generate(invocation: DbtInvocation) -> Path:
    """``dbt docs generate --static --no-compile`` against the run's snapshot: dbt's own
    documentation site as one page, in the run's target folder. Returns its path.

    ``--no-compile`` reuses the build's compiled manifest (the build already compiled every
    node), so the command only parses (from the cached parse) and reads the catalog.
    Raises DbtError when dbt fails or writes no page; ends the worker either way (it holds
    the snapshot open, and the run's next step checkpoints and renames it).
    """
    try:
        exit_code = run_dbt(["docs", "generate", "--static", "--no-compile"], invocation)
    finally:
        close_session(invocation)
    page = invocation.target_path / DBT_STATIC_DOCS_NAME
    if exit_code != 0 or not page.is_file():
        raise DbtError(f"dbt docs generate exited with code {exit_code}"
                       f"{'' if page.is_file() else ' and wrote no ' + DBT_STATIC_DOCS_NAME}; "
                       f"see {invocation.log_path / 'dbt.log'}")
    (invocation.target_path / _SERVED_DOCS_NAME).unlink(missing_ok=True)
    return page
