"""The run as OpenLineage events, for lineage servers and data catalogs that speak it.

One parent run for the pipeline; a START and a COMPLETE or FAIL for every step, each a
child of the pipeline's run; and, from dbt's manifest and run results after the build (the
integration's artefact processor), a START and COMPLETE/FAIL per dbt node with its
datasets' schema and column-lineage facets and dbt tests as data-quality assertions, each
a child of the ``dbt_build`` step's run. Run ids are derived from the run id and the step
name (UUID v5), so the same run always names the same OpenLineage runs.

Written with the client's file transport to ``logs/openlineage/<run_id>.ndjson``; also
sent over HTTP when ``OPENLINEAGE_URL`` is set. Lineage is evidence: nothing here fails
a run, and the URL's credentials never reach a log or a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, parent_run
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport

from foundation.paths import DBT_DB_LINK_NAME, DBT_PROJECT_DIR, RunPaths
from pipeline.records.run_manifest import RunManifest, StepRecord

logger = logging.getLogger(__name__)

NAMESPACE = "carton_caps"
PRODUCER = "urn:carton-caps:pipeline"
URL_ENV = "OPENLINEAGE_URL"
_RUN_IDS = uuid.UUID("6f1c4d0e-27a5-4c3e-9a51-0c2d7b6e0a27")
#: the environment the dbt profile reads, as the processor renders it (never a secret)
_PROFILE_ENV = {"CARTON_CAPS_DB_PATH": DBT_DB_LINK_NAME, "CARTON_CAPS_AS_OF": "",
                "CARTON_CAPS_DUCKDB_MEMORY_LIMIT": ""}


def run_uuid(run_id: str, step: str | None = None) -> str:
    """The OpenLineage run id of the pipeline run (``step`` None) or of one of its steps."""
    return str(uuid.uuid5(_RUN_IDS, run_id if step is None else f"{run_id}/{step}"))


def events_path(paths: RunPaths) -> Path:
    return paths.logs_dir / "openlineage" / f"{paths.run_id}.ndjson"


def _time(value: str | None, fallback: datetime) -> str:
    moment = datetime.fromisoformat(value) if value else fallback
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _parent(run_id: str) -> dict[str, parent_run.ParentRunFacet]:
    return {"parent": parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_uuid(run_id)),
        job=parent_run.Job(namespace=NAMESPACE, name="pipeline"))}


def _step_events(manifest: RunManifest, step: StepRecord, now: datetime) -> list[RunEvent]:
    run_id = run_uuid(manifest.run_id, step.name)
    job = Job(namespace=NAMESPACE, name=f"pipeline.{step.name}")
    started = _time(step.started_at, now)
    start = RunEvent(eventType=RunState.START, eventTime=started, producer=PRODUCER,
                     run=Run(runId=run_id, facets=_parent(manifest.run_id)), job=job)
    if step.status == "running":
        return [start]
    ended = datetime.fromisoformat(started) + timedelta(seconds=step.duration_s or 0)
    facets: dict[str, object] = dict(_parent(manifest.run_id))
    state = RunState.COMPLETE if step.status == "ok" else RunState.FAIL
    if state is RunState.FAIL:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=step.error or step.status, programmingLanguage="python")
    return [start, RunEvent(eventType=state, eventTime=ended.isoformat(), producer=PRODUCER,
                            run=Run(runId=run_id, facets=facets), job=job)]


@contextlib.contextmanager
def _profile_environment() -> Iterator[None]:
    """The processor renders the dbt profile, which reads these variables; they are set
    for the parse only (to the run-independent values dbt's worker sees)."""
    saved = {name: os.environ.get(name) for name in _PROFILE_ENV}
    os.environ.update({k: os.environ.get(k) or v for k, v in _PROFILE_ENV.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_events(manifest: RunManifest, target_path: Path) -> list[RunEvent]:
    """dbt's nodes as events, read by the integration's processor from the build's
    ``manifest.json`` and ``run_results.json``; none when the build left no results."""
    from openlineage.common.provider.dbt.facets import ParentRunMetadata
    from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor

    if not (target_path / "run_results.json").is_file():
        return []
    with _profile_environment():
        processor = DbtLocalArtifactProcessor(
            producer=PRODUCER, job_namespace=NAMESPACE, project_dir=str(DBT_PROJECT_DIR),
            profile_name="carton_caps", target="duckdb", target_path=str(target_path),
            logger=logger)
        processor.dbt_run_metadata = ParentRunMetadata(
            run_id=run_uuid(manifest.run_id, "dbt_build"), job_name="pipeline.dbt_build",
            job_namespace=NAMESPACE, root_parent_run_id=run_uuid(manifest.run_id),
            root_parent_job_name="pipeline", root_parent_job_namespace=NAMESPACE)
        events = list(processor.parse().events())
    for event in events:
        _qualify_column_inputs(event)
    return events


def _qualify_column_inputs(event: RunEvent) -> None:
    """The processor names a column's input table as the SQL does (``schema.table``), its
    datasets with the database first (``carton_caps.schema.table``): the column lineage is
    given the datasets' own names, so a lineage server joins the two."""
    inputs = {dataset.name for dataset in event.inputs or ()}
    for dataset in event.outputs or ():
        lineage = (dataset.facets or {}).get("columnLineage")
        for field in getattr(lineage, "fields", {}).values():
            for source in field.inputFields:
                qualified = f"{NAMESPACE}.{source.name}"
                if source.name not in inputs and qualified in inputs:
                    source.name = qualified


def build_events(manifest: RunManifest, paths: RunPaths,
                 now: datetime | None = None) -> list[RunEvent]:
    """Every event of the run, in order: the pipeline's START, its steps', dbt's nodes',
    then the pipeline's COMPLETE or FAIL (when the run has ended)."""
    now = now or datetime.now(UTC)
    job = Job(namespace=NAMESPACE, name="pipeline")
    pipeline_run = run_uuid(manifest.run_id)
    events = [RunEvent(eventType=RunState.START, eventTime=_time(manifest.started_at, now),
                       producer=PRODUCER, run=Run(runId=pipeline_run), job=job)]
    for step in manifest.steps:
        events.extend(_step_events(manifest, step, now))
    events.extend(dbt_events(manifest, paths.dbt_dir / "target"))
    if manifest.status != "running":
        state = RunState.COMPLETE if manifest.status == "success" else RunState.FAIL
        facets = ({"errorMessage": error_message_run.ErrorMessageRunFacet(
            message=manifest.error or manifest.status, programmingLanguage="python")}
            if state is RunState.FAIL else None)
        events.append(RunEvent(eventType=state, eventTime=_time(manifest.finished_at, now),
                               producer=PRODUCER, run=Run(runId=pipeline_run, facets=facets),
                               job=job))
    return events


def shown_url(url: str) -> str:
    """The lineage server's address without credentials, query or fragment (for logs)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def emit(events: list[RunEvent], paths: RunPaths) -> tuple[Path, list[str]]:
    """Write ``events`` to the run's ndjson file, and send them to ``$OPENLINEAGE_URL``
    when set. Returns the file and the warnings (a server that refused or could not be
    reached), never raising for the server."""
    path = events_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # the run's events, once: a rewrite replaces them
    transport = FileTransport(FileConfig(log_file_path=str(path), append=True))
    for event in events:
        transport.emit(event)
    warnings: list[str] = []
    url = os.environ.get(URL_ENV)
    if url:
        try:
            http = HttpTransport(HttpConfig(url=url, timeout=5.0))
            for event in events:
                http.emit(event)
        except Exception as exc:  # a lineage server never fails a run
            logger.debug("OpenLineage events not sent: %s", type(exc).__name__)
            warnings.append(f"OpenLineage events were not sent to {shown_url(url)} "
                            f"({type(exc).__name__})")
    return path, warnings
