"""The dashboards' run history: manifests, logs, dbt artefacts and schema snapshots of
every run of the home, read through the pipeline's own readers (one part of the data
layer)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from foundation import untrusted_files
from foundation.paths import HomePaths, RunPaths
from pipeline.checks import comparison, drift, health
from pipeline.checks.dbt_graph import DbtGraph
from pipeline.records import integrity
from pipeline.records import manifest as manifest_io
from pipeline.records.run_manifest import DbtSummary
from pipeline.transform import artifacts as dbt_artifacts
from streamlit_app.ops_queries import (
    CONTRACT_CHECKS_SQL,
    DBT_COLUMNS,
    contract_checks,
    finish_dbt_frame,
)
from streamlit_app.snapshots import (
    DataUnavailable,
    SnapshotUnreadable,
    exports,
    home_paths,
    reads,
    servable,
    snapshot_path,
)

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 200
#: bytes read from the end of a run's log for its tail (a log is never read whole)
LOG_TAIL_BYTES = 256 * 1024


def successful_runs(paths: HomePaths | None = None) -> list[str]:
    """Run ids with a snapshot to show (on disk; or archived, serving from an archive),
    newest first."""
    paths = paths or home_paths()
    runs = [doc["run_id"] for doc in manifest_io.load_all(paths)
            if doc.get("status") == "success" and servable(paths, doc)]
    return list(reversed(runs))


def previous_successful_run(run_id: str, paths: HomePaths | None = None) -> str | None:
    """The successful run published just before ``run_id`` (None for the first one)."""
    paths = paths or home_paths()
    shown = successful_runs(paths)
    if run_id not in shown:
        return None
    previous = next((doc for doc in manifest_io.successful_before(paths, run_id)
                     if doc["run_id"] in shown), None)
    return None if previous is None else previous["run_id"]


def run_manifests(paths: HomePaths | None = None) -> list[dict[str, Any]]:
    """Every readable manifest, oldest first, paths relative to the home (manifests of
    running runs change: no cache)."""
    paths = paths or home_paths()
    return [integrity.relative_paths(paths.home, doc) for doc in manifest_io.load_all(paths)]


def manifest_problems(paths: HomePaths | None = None) -> list[manifest_io.ManifestProblem]:
    """The home's manifest files that were skipped as unusable, each with why (the pipeline's
    own reader decides: :func:`pipeline.records.manifest.scan`)."""
    return manifest_io.scan(paths or home_paths()).problems


def manifest_problem(run_id: str, paths: HomePaths | None = None
                     ) -> manifest_io.ManifestProblem | None:
    """Why run ``run_id``'s manifest cannot be used, if it exists but is unusable."""
    return next((problem for problem in manifest_problems(paths) if problem.run_id == run_id),
                None)


def run_manifest(run_id: str, paths: HomePaths | None = None) -> dict[str, Any] | None:
    """One run's manifest, paths relative to the home (None if missing or unreadable)."""
    paths = paths or home_paths()
    document = manifest_io.load(RunPaths(home=paths.home, run_id=run_id).manifest)
    return None if document is None else integrity.relative_paths(paths.home, document)


@st.cache_data(max_entries=64, show_spinner=False)
def _health(home: str, run_id: str, mtime_ns: int) -> health.RunHealth | None:
    paths = HomePaths(Path(home))
    document = manifest_io.load(paths.run(run_id).manifest)
    return None if document is None else health.of_run(paths, document)


def run_health(run_id: str, paths: HomePaths | None = None) -> health.RunHealth | None:
    """The run's health as the pipeline recorded it (a run older than the health model is
    assessed by the same rules); None when the run has no usable manifest."""
    paths = paths or home_paths()
    try:
        mtime = paths.run(run_id).manifest.stat().st_mtime_ns
    except OSError:
        return None
    return _health(str(paths.home), run_id, mtime)


def dbt_summary(run_id: str, paths: HomePaths | None = None) -> DbtSummary:
    """The run's one dbt summary (the manifest's ``dbt``: what the console and runs.py show)."""
    return DbtSummary.from_json((run_manifest(run_id, paths) or {}).get("dbt"))


def snapshot_changed_note(run_id: str, snapshot: Path,
                          paths: HomePaths | None = None) -> str | None:
    """Why the served file no longer looks like the one published (size or modification
    time differ from its manifest); None when they match or were not recorded."""
    record = (run_manifest(run_id, paths) or {}).get("snapshot")
    try:
        changes = integrity.stat_changes(snapshot, record if isinstance(record, dict) else {})
    except OSError:
        return None  # gone: the page says so when it opens the snapshot
    if not changes:
        return None
    return (f"Snapshot {snapshot.name} changed on disk since it was published "
            f"({'; '.join(changes)}). Check it with python pipeline/runs.py verify {run_id}.")


#: the largest report offered for download (the run writes at most 5 MB at 1,000,000 users)
REPORT_MAX_BYTES = 16 * 1024**2


def log_tail(run_id: str, lines: int = LOG_TAIL_LINES,
             paths: HomePaths | None = None) -> str | None:
    """The last ``lines`` lines of ``logs/pipeline_<run_id>.log``, read from its last
    ``LOG_TAIL_BYTES`` only; None if there is none or it is not a regular file."""
    paths = paths or home_paths()
    log = RunPaths(home=paths.home, run_id=run_id).log
    try:
        text = untrusted_files.read_tail(log, home=paths.home, max_bytes=LOG_TAIL_BYTES)
    except (OSError, untrusted_files.UntrustedFileError):
        return None
    text = text.splitlines()
    return integrity.relative_paths(paths.home, "\n".join(text[-lines:]))


def run_report(run_id: str, paths: HomePaths | None = None) -> bytes | None:
    """The run's one-file HTML report (``logs/report_<run_id>.html``, written by the run
    or by ``runs.py report``) as bytes to download; None when it has none or it is refused
    (a link, a pipe, too large)."""
    paths = paths or home_paths()
    try:
        return untrusted_files.read_bytes(RunPaths(home=paths.home, run_id=run_id).report,
                                          home=paths.home, limit=REPORT_MAX_BYTES)
    except (OSError, untrusted_files.UntrustedFileError):
        return None


#: the largest dbt documentation page offered for download (about 4 MB at 20,000 users:
#: the manifest and catalog it inlines grow with the project, not with the data)
DBT_DOCS_MAX_BYTES = 64 * 1024**2


def dbt_docs_page(run_id: str, paths: HomePaths | None = None) -> bytes | None:
    """dbt's documentation site of the run (``logs/dbt/<run_id>/target/static_index.html``,
    one page that opens offline) as bytes to download; None when the run has none or it is
    refused (a link, a pipe, too large)."""
    paths = paths or home_paths()
    try:
        return untrusted_files.read_bytes(RunPaths(home=paths.home, run_id=run_id).dbt_docs,
                                          home=paths.home, limit=DBT_DOCS_MAX_BYTES)
    except (OSError, untrusted_files.UntrustedFileError):
        return None


# --------------------------------------------------------------------------- run files


ABANDONED = "abandoned"


def run_status(document: dict[str, Any]) -> str | None:
    """The manifest's status, or ``abandoned`` for a ``running`` run whose process is gone on
    this host (killed with SIGKILL: it can never finish; the next pipeline run sweeps it).

    A run whose process died after it moved the pointer (its record says so: publication
    saves it before letting a signal through) is the success the next run will record.
    """
    status = document.get("status")
    if status == "running" and not manifest_io.is_running(document):
        return "success" if document.get("pointer_updated") is True else ABANDONED
    return status


def last_step(document: dict[str, Any]) -> str | None:
    """Name of the last step a manifest records (None if it records none)."""
    steps = document.get("steps")
    last = steps[-1] if isinstance(steps, list) and steps else None
    name = last.get("name") if isinstance(last, dict) else None
    return None if name is None else str(name)


def abandoned_note(document: dict[str, Any]) -> str:
    """Why a run is shown as abandoned."""
    step = last_step(document)
    return (f"Run {document.get('run_id')} was abandoned at step {step or '-'}: its manifest "
            f"still says running, but its process (pid {document.get('pid')} on "
            f"{document.get('host')}) is gone. The next pipeline run marks it interrupted.")


def history_status(document: dict[str, Any]) -> str:
    """The one word a run's history shows: its health (healthy, warnings, failed), or
    ``running`` / ``abandoned`` for a run that has not finished."""
    status = run_status(document)
    if status in ("running", ABANDONED):
        return str(status)
    recorded = run_health(str(document.get("run_id")))
    # a record whose health cannot be read (no such run in the home) keeps its own status
    return recorded.status if recorded is not None else str(document.get("status") or "unknown")


def runs_frame(manifests: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run from its manifest: its health, timing, rows, findings, failure."""
    rows = []
    for doc in manifests:
        counts = doc.get("row_counts") or {}
        params = doc.get("params") or {}
        recorded = run_health(str(doc.get("run_id")))
        rows.append({
            "run_id": doc.get("run_id"),
            "status": history_status(doc),
            "findings": None if recorded is None else len(recorded.findings),
            "started_at": pd.to_datetime(doc.get("started_at"), utc=True, errors="coerce"),
            "duration_s": doc.get("duration_s"),
            "users": params.get("users"),
            "as_of": params.get("as_of"),
            "faults": ",".join(params.get("faults") or []),
            "raw_rows": sum((counts.get("raw") or {}).values()),
            "mart_rows": sum((counts.get("marts") or {}).values()),
            "failed_step": doc.get("failed_step"),
            "error": doc.get("error"),
            "published": doc.get("pointer_updated"),
        })
    return pd.DataFrame(rows)


def step_durations(manifests: list[dict[str, Any]]) -> pd.DataFrame:
    """Long table: one row per run and step with its duration and status."""
    rows = [
        {"run_id": doc.get("run_id"), "started_at": doc.get("started_at"),
         "step": step.get("name"), "duration_s": step.get("duration_s"),
         "status": step.get("status")}
        for doc in manifests for step in doc.get("steps") or []
    ]
    return pd.DataFrame(rows, columns=["run_id", "started_at", "step", "duration_s", "status"])


def run_failures(manifests: list[dict[str, Any]]) -> pd.DataFrame:
    """Runs that did not succeed (abandoned ones included), with the failing step and error."""
    rows = []
    for doc in manifests:
        status = run_status(doc)
        if status in ("success", "running"):
            continue
        step, error = doc.get("failed_step"), doc.get("error")
        if status == ABANDONED:
            step = step or last_step(doc)
            error = error or (f"process {doc.get('pid')} on {doc.get('host')} ended without "
                              "finishing the run")
        rows.append({"run_id": doc.get("run_id"), "status": status,
                     "started_at": doc.get("started_at"), "failed_step": step,
                     "error": error})
    return pd.DataFrame(rows, columns=["run_id", "status", "started_at", "failed_step", "error"])


def dbt_run_results_file(run_id: str, paths: HomePaths | None = None) -> pd.DataFrame | None:
    """Per-node results from the run's ``run_results.json`` (older snapshots' fallback)."""
    paths = paths or home_paths()
    target = RunPaths(home=paths.home, run_id=run_id).dbt_target
    document = dbt_artifacts.read_run_results(target, within=paths.home)
    if document is None:
        return None
    rows = [
        {"unique_id": r.get("unique_id"), "resource_type": None, "name": None,
         "status": r.get("status"), "execution_time_s": r.get("execution_time"),
         "failures": r.get("failures"), "message": r.get("message")}
        for r in document.get("results", [])
    ]
    return finish_dbt_frame(pd.DataFrame(rows, columns=list(DBT_COLUMNS)))


def source_freshness(run_id: str, paths: HomePaths | None = None) -> pd.DataFrame:
    """``dbt source freshness`` results recorded in the run's manifest."""
    document = run_manifest(run_id, paths) or {}
    results = (document.get("freshness") or {}).get("results") or []
    columns = ["unique_id", "status", "max_loaded_at", "snapshotted_at", "age_s"]
    frame = pd.DataFrame(results, columns=columns)
    frame.insert(1, "source", frame["unique_id"].astype("string").str.split(".").str[2:]
                 .str.join("."))
    frame["age_hours"] = pd.to_numeric(frame["age_s"], errors="coerce") / 3600
    return frame


@st.cache_data(max_entries=64, show_spinner=False)
def _schema_file(path: str, home: str, mtime_ns: int) -> pd.DataFrame | None:
    try:  # the pipeline's one reader of the file
        columns = drift.read_snapshot(Path(path), home=Path(home))
    except drift.SchemaSnapshotError as exc:
        logger.warning("schema snapshot skipped: %s", exc)
        return None
    if columns is None:
        return None
    frame = pd.DataFrame(columns)
    if frame.empty:
        return frame
    return frame.rename(columns={"schema": "table_schema", "table": "table_name",
                                 "column": "column_name", "type": "data_type"})


def schema_of_run(run_id: str, paths: HomePaths | None = None) -> pd.DataFrame | None:
    """Columns of a run's ``logs/schema_<run_id>.json`` (None if it has none)."""
    paths = paths or home_paths()
    path = RunPaths(home=paths.home, run_id=run_id).schema_snapshot
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _schema_file(str(path), str(paths.home), mtime)


# --------------------------------------------------------------------------- lineage, comparison


@st.cache_data(max_entries=16, show_spinner=False)
def _lineage(target: str, home: str, mtime_ns: int) -> dict[str, dbt_artifacts.LineageNode]:
    return dbt_artifacts.lineage(dbt_artifacts.load(Path(target), within=Path(home)))


def dbt_lineage(run_id: str, paths: HomePaths | None = None
                ) -> dict[str, dbt_artifacts.LineageNode] | None:
    """The run's dbt graph from its own ``logs/dbt/<run_id>/target/manifest.json`` (read by
    pipeline.transform.artifacts, the one reader of dbt's artefacts); None if it kept none."""
    paths = paths or home_paths()
    target = RunPaths(home=paths.home, run_id=run_id).dbt_target
    try:
        mtime = (target / "manifest.json").stat().st_mtime_ns
    except OSError:
        return None
    graph = _lineage(str(target), str(paths.home), mtime)
    return graph or None


@st.cache_data(max_entries=16, show_spinner=False)
def _relations(target: str, home: str, mtime_ns: int) -> dict[str, str]:
    manifest = dbt_artifacts.load(Path(target), within=Path(home)).manifest
    return dict(DbtGraph.from_manifest(manifest).relations)


def lineage_relations(run_id: str, paths: HomePaths | None = None) -> dict[str, str]:
    """dbt node id -> its relation (``schema.table``, ``exposure:<page>``) in the run's own
    dbt manifest: how the lineage page matches nodes with what a finding affects."""
    paths = paths or home_paths()
    target = RunPaths(home=paths.home, run_id=run_id).dbt_target
    try:
        mtime = (target / "manifest.json").stat().st_mtime_ns
    except OSError:
        return {}
    return _relations(str(target), str(paths.home), mtime)


def run_comparison(run_a: str, run_b: str,
                   paths: HomePaths | None = None) -> comparison.RunComparison:
    """The pipeline's own diff of two runs (the one ``runs.py diff`` prints)."""
    return comparison.compare(paths or home_paths(), run_a, run_b)


@reads(CONTRACT_CHECKS_SQL)  # through contract_checks, run by run
def contract_history(run_ids: list[str]) -> pd.DataFrame:
    """Check outcomes per run (run_id, started_at, table, check, status, checks)."""
    manifests = {doc["run_id"]: doc for doc in run_manifests()}
    frames = []
    for run_id in run_ids:
        try:
            frame = contract_checks(snapshot_path(run_id, fetch=False))
        except DataUnavailable:
            continue
        except SnapshotUnreadable as exc:
            logger.warning("contract history skips run %s: %s", run_id, exc)
            continue
        frame = (frame.groupby(["table_name", "check", "status"], dropna=False,
                               as_index=False).size().rename(columns={"size": "checks"}))
        frame.insert(0, "started_at", (manifests.get(run_id) or {}).get("started_at"))
        frame.insert(0, "run_id", run_id)
        frames.append(frame)
    columns = ["run_id", "started_at", "table_name", "check", "status", "checks"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


__all__ = exports(globals())
