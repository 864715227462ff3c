"""The run as OpenLineage events, for lineage servers and data catalogs that speak it.

One parent run for the pipeline; a START and a COMPLETE or FAIL for every step, each a
child of the pipeline's run; and, from dbt's manifest and run results after the build (the
integration's artefact processor), a START and COMPLETE/FAIL per dbt node with its
datasets' schema facets and dbt tests as data-quality assertions, each a child of the
``dbt_build`` step's run. A model's COMPLETE carries its column lineage, read from its
compiled SQL through its CTEs (pipeline/evidence/column_lineage.py) rather than the
processor's, which names CTEs as tables. Run ids are derived from the run id and the step
name (UUID v5), so the same run always names the same OpenLineage runs.

Written with the client's file transport to ``logs/openlineage/<run_id>.ndjson``; also
sent over HTTP when ``OPENLINEAGE_URL`` is set. Lineage is evidence: nothing here fails
a run, and the URL's credentials never reach a log or a warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    error_message_run,
    parent_run,
    schema_dataset,
)
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport
from sqlglot.errors import SqlglotError

import duckdb
from foundation.paths import DBT_DB_LINK_NAME, DBT_PROJECT_DIR, RunPaths
from pipeline.evidence import column_lineage
from pipeline.evidence.column_lineage import Relation
from pipeline.evidence.column_lineage_cache import CACHE_FILE, ColumnLineageCache
from pipeline.records.run_manifest import RunManifest, StepRecord
from pipeline.transform.artifacts import node_relation

logger = logging.getLogger(__name__)
#: the integration's processor logs through this one: its notices (a deprecated facet, once
#: per node) are its own debugging, so only its warnings reach the run's log
processor_logger = logging.getLogger(f"{__name__}.dbt_processor")
processor_logger.setLevel(logging.WARNING)
D = TypeVar("D", InputDataset, OutputDataset)

NAMESPACE = "carton_caps"
#: where the snapshot's tables live, as the integration names dbt's datasets
DATASET_NAMESPACE = f"duckdb://{DBT_DB_LINK_NAME}"
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
    return paths.openlineage_dir / f"{paths.run_id}.ndjson"


def _time(value: str | None, fallback: datetime) -> str:
    moment = datetime.fromisoformat(value) if value else fallback
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _parent(run_id: str) -> dict[str, parent_run.ParentRunFacet]:
    return {"parent": parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_uuid(run_id)),
        job=parent_run.Job(namespace=NAMESPACE, name="pipeline"))}


def _table(schema: str, table: str, columns: Sequence[tuple[str, str]] = (), *,
           assertions: Sequence[dict[str, Any]] = (), output: bool = False
           ) -> InputDataset | OutputDataset:
    """A table of the snapshot as a dataset, named as the integration names dbt's."""
    facets: dict[str, Any] = {}
    if columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=kind)
            for name, kind in columns])
    if assertions:
        facets["dataQualityAssertions"] = (
            data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(assertions=[
                data_quality_assertions_dataset.Assertion(**a) for a in assertions]))
    name = f"{NAMESPACE}.{schema}.{table}"
    if output:
        return OutputDataset(namespace=DATASET_NAMESPACE, name=name, facets=facets)
    return InputDataset(namespace=DATASET_NAMESPACE, name=name, facets=facets)


def _schema_columns(paths: RunPaths) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """The snapshot's columns by (schema, table), from the run's schema snapshot."""
    try:
        document = json.loads(paths.schema_snapshot.read_text())
    except (OSError, ValueError):
        return {}
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for column in sorted(document.get("columns") or (), key=lambda c: c.get("ordinal") or 0):
        columns.setdefault((column["schema"], column["table"]), []).append(
            (column["column"], column["type"]))
    return columns


def _load_datasets(manifest: RunManifest, paths: RunPaths
                   ) -> tuple[list[InputDataset], list[OutputDataset]]:
    """load_raw's inputs (the source files the generator wrote) and outputs (raw tables)."""
    tables = manifest.ingestion.get("tables") or {}
    generated = manifest.step("generate")
    data_dir = (generated.details or {}).get("data_dir") if generated else None
    columns = _schema_columns(paths)
    files = sorted({str(t.get("source_file")) for t in tables.values() if t.get("source_file")})
    inputs = [InputDataset(namespace="file", name=str(Path(data_dir or ".") / name))
              for name in files]
    outputs = [_table("raw", name, columns.get(("raw", name), ()), output=True)
               for name in sorted(tables)]
    return inputs, outputs  # type: ignore[return-value]


def _contract_datasets(manifest: RunManifest, paths: RunPaths) -> list[InputDataset]:
    """The contracts step's inputs: each table checked, with its checks as data-quality
    assertions (from the published snapshot's ops.contract_results; a run that did not
    publish has only its failing checks, from the manifest)."""
    rows: list[dict[str, Any]] = []
    if manifest.status == "success" and paths.snapshot.is_file():
        try:
            with duckdb.connect(str(paths.snapshot), read_only=True) as con:
                found = con.execute(
                    "select layer, table_name, column_name, check_name, status "
                    "from ops.contract_results where run_id = ?", [manifest.run_id]).fetchall()
            rows = [dict(zip(("layer", "table", "column", "check", "status"), r, strict=True))
                    for r in found]
        except duckdb.Error:
            logger.debug("no contract results in the snapshot", exc_info=True)
    if not rows:
        rows = [dict(r) for r in manifest.contracts.get("failing") or ()]
    by_table: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        assertion = {"assertion": str(row.get("check")),
                     "success": str(row.get("status")).upper() == "PASS"}
        if row.get("column"):
            assertion["column"] = str(row["column"])
        by_table.setdefault((str(row.get("layer")), str(row.get("table"))), []).append(
            assertion)
    return [_table(layer, table, assertions=checks)  # type: ignore[misc]
            for (layer, table), checks in sorted(by_table.items())]


def _step_events(manifest: RunManifest, step: StepRecord, now: datetime,
                 paths: RunPaths) -> list[RunEvent]:
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
    inputs: list[InputDataset] = []
    outputs: list[OutputDataset] = []
    if step.name == "load_raw":
        inputs, outputs = _load_datasets(manifest, paths)
    elif step.name == "contracts":
        inputs = _contract_datasets(manifest, paths)
    return [start, RunEvent(eventType=state, eventTime=ended.isoformat(), producer=PRODUCER,
                            run=Run(runId=run_id, facets=facets), job=job, inputs=inputs,
                            outputs=outputs)]


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


def dbt_events(manifest: RunManifest, target_path: Path,
               columns: Mapping[Relation, Sequence[str]],
               cache: ColumnLineageCache) -> list[RunEvent]:
    """dbt's nodes as events, read by the integration's processor from the build's
    ``manifest.json`` and ``run_results.json``; none when the build left no results.
    Each model's COMPLETE carries the column lineage read from its compiled SQL
    (``columns``: the snapshot's relations and their columns, which resolve it), or
    found in ``cache`` for the same SQL and columns."""
    from openlineage.common.provider.dbt.facets import ParentRunMetadata
    from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor

    if not (target_path / "run_results.json").is_file():
        return []
    with _profile_environment():
        processor = DbtLocalArtifactProcessor(
            producer=PRODUCER, job_namespace=NAMESPACE, project_dir=str(DBT_PROJECT_DIR),
            profile_name="carton_caps", target="duckdb", target_path=str(target_path),
            logger=processor_logger)
        processor.dbt_run_metadata = ParentRunMetadata(
            run_id=run_uuid(manifest.run_id, "dbt_build"), job_name="pipeline.dbt_build",
            job_namespace=NAMESPACE, root_parent_run_id=run_uuid(manifest.run_id),
            root_parent_job_name="pipeline", root_parent_job_namespace=NAMESPACE)
        events = list(processor.parse().events())
    lineage = _models_lineage(json.loads((target_path / "manifest.json").read_text()),
                              columns, cache)
    for event in events:
        _replace_dbt_facets(event, lineage)
    return events


#: the processor's ``dbt_model`` dataset facet names a schema OpenLineage does not publish
#: (neither in the integration's wheel nor in its repository), so no consumer can validate
#: it; the model's configuration it carries is in dbt's manifest
_UNPUBLISHED_FACETS = frozenset({"dbt_model"})


def _refaceted(dataset: D, add: Mapping[str, Any] | None = None) -> D:
    """A copy of ``dataset`` without the processor's column lineage and unpublished facets,
    plus ``add``: the processor shares one dataset object between a node's START and its
    COMPLETE, so a facet set on one would appear on both."""
    kept = {name: facet for name, facet in (dataset.facets or {}).items()
            if name != "columnLineage" and name not in _UNPUBLISHED_FACETS}
    return attrs.evolve(dataset, facets={**kept, **(add or {})})


#: a model's output column -> the (dataset name, column) pairs it is computed from
ModelLineage = dict[str, set[tuple[str, str]]]


def _models_lineage(dbt_manifest: dict[str, Any], columns: Mapping[Relation, Sequence[str]],
                    cache: ColumnLineageCache) -> dict[str, ModelLineage]:
    """The column lineage of every SQL model, by unique id, with its inputs named as the
    processor names its input datasets. Python models (their compiled code is Python) and
    models dbt did not compile have no SQL to read, and a model whose SQL sqlglot cannot
    read has none rather than a guess."""
    started = time.perf_counter()
    relations = {**dbt_manifest.get("sources", {}), **dbt_manifest.get("nodes", {})}
    lineage: dict[str, ModelLineage] = {}
    for unique_id, node in dbt_manifest.get("nodes", {}).items():
        sql = node.get("compiled_code") if node.get("language") == "sql" else None
        if node.get("resource_type") != "model" or not sql:
            continue
        inputs = {_relation(relations[d]): _dataset_name(relations[d])
                  for d in node["depends_on"]["nodes"] if d in relations}
        readable = {relation: columns[relation] for relation in inputs if relation in columns}
        own = columns.get(_relation(node), ())
        try:
            read = cache.lineage(sql, readable, own, column_lineage.read_lineage)
        except SqlglotError:
            logger.debug("no column lineage for %s", unique_id, exc_info=True)
            continue
        names = {c.lower(): c for c in own}
        lineage[unique_id] = {
            names.get(column.lower(), column): {(inputs[(db, table)], field)
                                                for db, table, field in leaves}
            for column, leaves in read.items()}
    logger.debug("column lineage of %d models in %.2f s (%d from the cache)", len(lineage),
                 time.perf_counter() - started, cache.hits)
    return lineage


def _relation(node: dict[str, Any]) -> Relation:
    """A dbt model's or source's (schema, table), as
    :func:`pipeline.transform.artifacts.node_relation` names it. dbt writes both for every
    model and source: a manifest without them is one the processor cannot have read either,
    so it fails the events (a run warning) rather than naming a dataset by a guess."""
    relation = node_relation(node)
    if relation is None:
        raise KeyError(f"dbt node {node.get('unique_id')!r} names no schema or table")
    return relation


def _dataset_name(node: dict[str, Any]) -> str:
    """A dbt relation's dataset name, as the processor names it: database.schema.table."""
    return ".".join((node["database"], *_relation(node)))


def _replace_dbt_facets(event: RunEvent, lineage: dict[str, ModelLineage]) -> None:
    """The processor's column lineage (openlineage-sql's, which names a CTE as a table)
    and its unpublished facets are removed from every dbt event; a model's COMPLETE
    carries the lineage read from its SQL instead."""
    fields = _lineage_fields(event, lineage) if event.eventType is RunState.COMPLETE else {}
    add = ({"columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
        fields=fields, dataset=None, producer=PRODUCER)} if fields else None)
    event.inputs = [_refaceted(dataset) for dataset in event.inputs or ()]
    event.outputs = [_refaceted(dataset, add) for dataset in event.outputs or ()]


def _lineage_fields(event: RunEvent, lineage: dict[str, ModelLineage]
                    ) -> dict[str, column_lineage_dataset.Fields]:
    """The event's model's column lineage, each input named and namespaced as the event's
    input dataset, so a lineage server joins the two. A column reading a dataset the
    event does not list as an input is left out. Every input is DIRECT: the columns an
    output is computed from (those that only filter, join or group are not listed)."""
    unique_id = getattr((event.job.facets or {}).get("dbt_node"), "unique_id", None)
    namespaces = {dataset.name: dataset.namespace for dataset in event.inputs or ()}
    return {
        column: column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(
                namespace=namespaces[name], name=name, field=field,
                transformations=[column_lineage_dataset.Transformation(type="DIRECT")])
            for name, field in sorted(sources)])
        for column, sources in lineage.get(str(unique_id), {}).items()
        if all(name in namespaces for name, _field in sources)}


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
        events.extend(_step_events(manifest, step, now, paths))
    columns = {relation: [name for name, _type in found]
               for relation, found in _schema_columns(paths).items()}
    cache = ColumnLineageCache(events_path(paths).with_name(CACHE_FILE), paths.home)
    events.extend(dbt_events(manifest, paths.dbt_target, columns, cache))
    cache.store()
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
