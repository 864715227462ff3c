"""The run manifest as typed records: what a run writes, field by field, in one module.

``logs/pipeline_<run_id>.json`` is the run's contract with its readers. While a run goes,
the runner holds a :class:`RunManifest`; a step hands back a :class:`ManifestUpdate` (the
sections it produced) and only the runner applies it. :meth:`RunManifest.to_json` is the
one place the JSON is written from, :meth:`RunManifest.from_json` the one place it is read
back into records (after :mod:`pipeline.records.manifest` has checked it against
``manifest.schema.json``), so a manifest written by any earlier version still reads: a
missing field takes its default.

The run-level fields (status, steps, warnings, parameters, row counts, the dbt summary,
the snapshot, the pointer, the source files, the archive's outcome, the orchestrator run
that started it, its alert) are records here. The sections the checks produce
(``ingestion``, ``freshness``, ``contracts``, ``schema_drift``, ``anomalies``,
``metric_anomalies``, ``engine``, ``pii_key``, ``health``, ``docs``) are each made by one
report type of the module that owns them (``ContractReport.to_manifest()`` and so on) and
kept as that JSON object: their shape is declared by their owner and by
``manifest.schema.json``, not copied here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MANIFEST_VERSION = 1

#: a run's steps as the manifest names them, in the order every engine runs them
#: (pipeline/steps/plan.py builds its plans from these names and checks it). A plan runs
#: them in this order and may leave some out: ``land`` only when the sources go to object
#: storage, ``source`` instead of ``generate`` and ``land`` for a replay (``--source``),
#: ``archive`` only with ``--archive``.
STEP_NAMES = ("generate", "land", "source", "load_raw", "source_freshness", "dbt_build",
              "schema_snapshot", "dbt_artifacts", "contracts", "schema_drift",
              "volume_anomalies", "metric_anomalies", "health", "report", "quality_gate",
              "record_ops", "dbt_docs", "publish", "archive")
#: the steps that run once the snapshot is published: their failure cannot unpublish it
#: (pipeline/lifecycle/runner.py records it without failing the run)
AFTER_PUBLISH_STEPS = ("archive",)

RunStatus = Literal["running", "success", "failed", "interrupted"]
StepStatus = Literal["running", "ok", "failed", "interrupted"]
#: a section a check produced, as its owner's report wrote it (see the module docstring)
Section = dict[str, Any]

#: dbt result statuses that make a node fail, and those worth reporting (failures and
#: warnings): the one definition every reader of dbt's results uses
DBT_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
DBT_REPORTED_STATUSES = DBT_FAILED_STATUSES | {"warn"}
#: dbt's statuses by the bucket the summary counts them in
_DBT_BUCKETS = {"success": "pass", "pass": "pass", "warn": "warn", "skipped": "skip",
                "skip": "skip", **{status: "error" for status in DBT_FAILED_STATUSES}}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class RunParams:
    """What a run was asked to do (its configuration without the home and run id)."""

    seed: int
    users: int
    as_of: str
    days: int
    faults: tuple[str, ...] = ()
    engine: str = "duckdb"
    #: where the sources were read from instead of generated (``--source``), where the
    #: generated ones were landed (``--landing``, when not the home's ``data/``) and where
    #: the run was archived (``--archive``): locations as given, checked, never credentials
    source: str | None = None
    landing: str | None = None
    archive: str | None = None

    #: the optional locations, written only when set (earlier manifests read unchanged)
    LOCATIONS = ("source", "landing", "archive")

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "seed": self.seed, "users": self.users, "as_of": self.as_of, "days": self.days,
            "faults": list(self.faults), "engine": self.engine}
        document.update({name: getattr(self, name) for name in self.LOCATIONS
                         if getattr(self, name) is not None})
        return document

    @classmethod
    def from_json(cls, value: Any) -> RunParams | None:
        data = _mapping(value)
        seed, users, days = (_integer(data.get(k)) for k in ("seed", "users", "days"))
        as_of = _text(data.get("as_of"))
        if seed is None or users is None or days is None or as_of is None:
            return None
        faults = tuple(f for f in data.get("faults") or () if isinstance(f, str))
        return cls(seed, users, as_of, days, faults, _text(data.get("engine")) or "duckdb",
                   *(_text(data.get(name)) for name in cls.LOCATIONS))


@dataclass
class StepRecord:
    """One step of the run: running while it runs, then ok, failed or interrupted."""

    name: str
    status: StepStatus
    started_at: str | None
    duration_s: float | None = None
    error: str | None = None
    #: what the step reported (its StepResult's details), once it finished ok
    details: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        document = {"name": self.name, "status": self.status, "started_at": self.started_at,
                    "duration_s": self.duration_s, "error": self.error}
        if self.details is not None:
            document["details"] = self.details
        return document

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> StepRecord:
        details = value.get("details")
        return cls(str(value["name"]), value["status"], _text(value.get("started_at")),
                   _number(value.get("duration_s")), _text(value.get("error")),
                   dict(details) if isinstance(details, Mapping) else None)


@dataclass(frozen=True)
class RunWarning:
    """Something a run noticed that did not stop it (``step`` None: outside any step)."""

    step: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "message": self.message}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> RunWarning:
        return cls(_text(value.get("step")), str(value["message"]))


@dataclass(frozen=True)
class DbtSummary:
    """dbt's results in counts, and every failing or warning node: the one definition of
    the summary (the manifest's ``dbt`` section, the console, ``runs.py``, the pages)."""

    passed: int = 0
    warn: int = 0
    error: int = 0
    skip: int = 0
    total: int = 0
    #: one entry per failing or warning node (unique_id, status, failures, message, and
    #: once read from the snapshot, its compiled SQL and sample failing rows)
    failures: tuple[dict[str, Any], ...] = ()
    #: whether run_results.json was there to summarise (None: not read yet)
    available: bool | None = None
    exit_code: int | None = None
    #: which of dbt's artefacts the run kept (run_results, manifest, sources)
    artifacts: dict[str, bool] | None = None

    #: the counts, as the JSON names them
    COUNT_KEYS = ("pass", "warn", "error", "skip", "total")

    def counts(self) -> dict[str, int]:
        return dict(zip(self.COUNT_KEYS, (self.passed, self.warn, self.error, self.skip,
                                          self.total), strict=True))

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {**self.counts(), "failures": list(self.failures)}
        for name in ("available", "exit_code", "artifacts"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        return document

    @classmethod
    def from_json(cls, value: Any) -> DbtSummary:
        data = _mapping(value)
        counts = [_integer(data.get(key)) or 0 for key in cls.COUNT_KEYS]
        failures = tuple(dict(f) for f in data.get("failures") or () if isinstance(f, Mapping))
        available = data.get("available")
        artifacts = data.get("artifacts")
        return cls(*counts, failures=failures,
                   available=available if isinstance(available, bool) else None,
                   exit_code=_integer(data.get("exit_code")),
                   artifacts=dict(artifacts) if isinstance(artifacts, Mapping) else None)

    @classmethod
    def from_results(cls, results: list[Mapping[str, Any]] | None, *,
                     exit_code: int | None = None) -> DbtSummary:
        """Count dbt's ``run_results.json`` results (None: the file was not there)."""
        if results is None:
            return cls(available=False, exit_code=exit_code)
        counts = {"pass": 0, "warn": 0, "error": 0, "skip": 0}
        failures = []
        for result in results:
            status = str(result.get("status", "")).lower()
            bucket = _DBT_BUCKETS.get(status)
            if bucket:
                counts[bucket] += 1
            if status in DBT_REPORTED_STATUSES:
                failures.append({"unique_id": result.get("unique_id"), "status": status,
                                 "failures": result.get("failures"),
                                 "message": (result.get("message") or "")[:2000]})
        return cls(counts["pass"], counts["warn"], counts["error"], counts["skip"],
                   sum(counts.values()), tuple(failures), available=True, exit_code=exit_code)

    def with_failures(self, failures: list[dict[str, Any]]) -> DbtSummary:
        return dataclasses.replace(self, failures=tuple(failures))


@dataclass(frozen=True)
class SnapshotRecord:
    """The published snapshot: where, how large, when and its sha256 (None until then)."""

    path: str | None = None
    size_bytes: int | None = None
    mtime: str | None = None
    mtime_ns: int | None = None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"path": self.path, "size_bytes": self.size_bytes}
        for name in ("mtime", "mtime_ns", "sha256"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        return document

    @classmethod
    def from_json(cls, value: Any) -> SnapshotRecord:
        data = _mapping(value)
        return cls(_text(data.get("path")), _integer(data.get("size_bytes")),
                   _text(data.get("mtime")), _integer(data.get("mtime_ns")),
                   _text(data.get("sha256")))


@dataclass(frozen=True)
class RowCounts:
    """Rows per table of the raw layer and of the marts."""

    raw: dict[str, int] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"raw": dict(self.raw), "marts": dict(self.marts)}

    @classmethod
    def from_json(cls, value: Any) -> RowCounts:
        data = _mapping(value)
        return cls(*({str(k): v for k, v in _mapping(data.get(layer)).items()
                      if _integer(v) is not None} for layer in ("raw", "marts")))


SourceOrigin = Literal["generated", "landed", "replay"]


@dataclass(frozen=True)
class SourceFileRecord:
    """One source file the run read: where, how large, its ETag (object storage only) and
    sha256, and where the digest came from (``metadata``: written with the object;
    ``computed``: hashed from its bytes; ``verified``: both, and equal)."""

    name: str
    uri: str
    size: int
    sha256: str
    etag: str | None = None
    sha256_from: str = "computed"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "uri": self.uri, "size": self.size, "etag": self.etag,
                "sha256": self.sha256, "sha256_from": self.sha256_from}

    @classmethod
    def from_json(cls, value: Any) -> SourceFileRecord | None:
        data = _mapping(value)
        name, uri, digest = (_text(data.get(k)) for k in ("name", "uri", "sha256"))
        size = _integer(data.get("size"))
        if name is None or uri is None or digest is None or size is None:
            return None
        return cls(name, uri, size, digest, _text(data.get("etag")),
                   _text(data.get("sha256_from")) or "computed")


@dataclass(frozen=True)
class SourcesRecord:
    """Where the run's source files are and what each was when the run read it.

    ``location`` is the run's source folder (a local path or ``s3://bucket/prefix``);
    ``origin`` says how they got there: ``generated`` by this run on local disk,
    ``landed`` by this run in object storage, or a ``replay`` of files already there.
    """

    location: str
    origin: SourceOrigin
    files: tuple[SourceFileRecord, ...] = ()

    def file(self, name: str) -> SourceFileRecord | None:
        return next((f for f in self.files if f.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"location": self.location, "origin": self.origin,
                "files": [f.to_json() for f in self.files]}

    @classmethod
    def from_json(cls, value: Any) -> SourcesRecord | None:
        data = _mapping(value)
        location, origin = _text(data.get("location")), data.get("origin")
        if location is None or origin not in ("generated", "landed", "replay"):
            return None
        files = tuple(f for f in (SourceFileRecord.from_json(v)
                                  for v in data.get("files") or ()) if f is not None)
        return cls(location, origin, files)


ArchiveStatus = Literal["archiving", "archived", "failed", "interrupted"]


@dataclass(frozen=True)
class ArchiveRecord:
    """What archiving the published run did (``--archive``): where, the outcome, and
    where ``LATEST`` of the archive stands. ``failed``/``interrupted`` carry the error;
    the run itself stays published here (pipeline/steps/archive.py)."""

    uri: str
    run_uri: str
    status: ArchiveStatus
    error: str | None = None
    #: files in the archive, of them sent by this upload (the rest were there intact),
    #: and their bytes: None until the upload completed
    files: int | None = None
    uploaded: int | None = None
    bytes: int | None = None
    latest_run_id: str | None = None
    latest_updated: bool = False
    previous_latest: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> ArchiveRecord | None:
        data = _mapping(value)
        uri, run_uri, status = _text(data.get("uri")), _text(data.get("run_uri")), data.get(
            "status")
        if uri is None or run_uri is None or status not in (
                "archiving", "archived", "failed", "interrupted"):
            return None
        counts = [_integer(data.get(k)) for k in ("files", "uploaded", "bytes")]
        return cls(uri, run_uri, status, _text(data.get("error")), *counts,
                   _text(data.get("latest_run_id")), data.get("latest_updated") is True,
                   _text(data.get("previous_latest")))


@dataclass(frozen=True)
class OrchestratorRef:
    """The orchestrator run that started this pipeline run (Dagster's run id and the
    partition, its as-of date), so a manifest leads to the scheduler's record and back."""

    name: str
    run_id: str
    partition: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "run_id": self.run_id, "partition": self.partition}

    @classmethod
    def from_json(cls, value: Any) -> OrchestratorRef | None:
        data = _mapping(value)
        name, run_id = _text(data.get("name")), _text(data.get("run_id"))
        if name is None or run_id is None:
            return None
        return cls(name, run_id, _text(data.get("partition")))


@dataclass(frozen=True)
class AlertRecord:
    """What became of the run's alert (pipeline/alerts/): why it was or was not sent, and
    its delivery. Never the webhook's URL, which is a secret."""

    #: failed, interrupted, warnings or healthy: the run's outcome the alert is about
    trigger: str
    sent: bool
    delivered: bool = False
    attempts: int = 0
    status_code: int | None = None
    error: str | None = None
    duration_s: float | None = None
    #: why nothing was sent (a healthy run when only problems are asked for)
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "sent": self.sent, "delivered": self.delivered,
                "attempts": self.attempts, "status_code": self.status_code,
                "error": self.error, "duration_s": self.duration_s, "reason": self.reason}

    @classmethod
    def from_json(cls, value: Any) -> AlertRecord | None:
        data = _mapping(value)
        trigger = _text(data.get("trigger"))
        if trigger is None:
            return None
        return cls(trigger, data.get("sent") is True, data.get("delivered") is True,
                   _integer(data.get("attempts")) or 0, _integer(data.get("status_code")),
                   _text(data.get("error")), _number(data.get("duration_s")),
                   _text(data.get("reason")))


@dataclass(frozen=True)
class ManifestUpdate:
    """The sections one step produced: each one given replaces the manifest's whole, and
    the warnings are appended. Only the runner applies it (:meth:`RunManifest.apply`)."""

    row_counts: RowCounts | None = None
    ingestion: Section | None = None
    dbt: DbtSummary | None = None
    freshness: Section | None = None
    contracts: Section | None = None
    schema_drift: Section | None = None
    anomalies: Section | None = None
    artifacts: dict[str, str] | None = None
    engine: Section | None = None
    pii_key: Section | None = None
    metric_anomalies: Section | None = None
    health: Section | None = None
    sources: SourcesRecord | None = None
    archive: ArchiveRecord | None = None
    #: the run's end, when a step after publication fixed it (the archive's copy of the
    #: manifest says when the run finished: the local one says the same)
    finished_at: str | None = None
    duration_s: float | None = None
    orchestrator: OrchestratorRef | None = None
    alert: AlertRecord | None = None
    docs: Section | None = None
    warnings: tuple[RunWarning, ...] = ()

    def merged(self, later: ManifestUpdate) -> ManifestUpdate:
        """This update with ``later``'s sections on top and both sets of warnings."""
        given = {f.name: getattr(later, f.name) for f in dataclasses.fields(later)
                 if f.name != "warnings" and getattr(later, f.name) is not None}
        return dataclasses.replace(self, **given, warnings=self.warnings + later.warnings)


#: the optional sections, in the order they are appended to the JSON when a run sets them
_OPTIONAL_SECTIONS = ("pii_key", "engine", "published_at", "metric_anomalies", "health",
                      "docs")
#: the optional typed records, appended after them (each written by its own ``to_json``)
_OPTIONAL_RECORDS = ("sources", "archive", "orchestrator", "alert")


@dataclass
class RunManifest:
    """One run's manifest while it runs (the runner's) or as read back (any reader's)."""

    run_id: str
    status: RunStatus
    started_at: str | None
    home: str
    params: RunParams | None
    host: str | None = None
    pid: int | None = None
    #: with the pid, who the run's process is (pipeline/records/process_identity.py)
    boot_id: str | None = None
    process_start: int | None = None
    manifest_version: int = MANIFEST_VERSION
    finished_at: str | None = None
    duration_s: float | None = None
    failed_step: str | None = None
    error: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    warnings: list[RunWarning] = field(default_factory=list)
    row_counts: RowCounts = field(default_factory=RowCounts)
    ingestion: Section = field(default_factory=dict)
    dbt: DbtSummary = field(default_factory=DbtSummary)
    freshness: Section = field(default_factory=dict)
    contracts: Section = field(default_factory=dict)
    schema_drift: Section = field(default_factory=dict)
    anomalies: Section = field(default_factory=dict)
    snapshot: SnapshotRecord = field(default_factory=SnapshotRecord)
    pointer_updated: bool = False
    previous_run_id: str | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    git_commit: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    pii_key: Section | None = None
    engine: Section | None = None
    #: when publication moved the pointer (saved before a signal may stop the process)
    published_at: str | None = None
    #: flagged metric anomalies by root cause (checks/metric_anomalies.py)
    metric_anomalies: Section | None = None
    #: the run's health: findings by root cause and the one status (checks/health.py)
    health: Section | None = None
    #: the run's source files: where they are, each file's size, ETag and sha256
    sources: SourcesRecord | None = None
    #: what archiving the published run did (``--archive`` only)
    archive: ArchiveRecord | None = None
    #: the orchestrator run that started this one (None: started by hand or by make)
    orchestrator: OrchestratorRef | None = None
    #: the run's alert, once the run has ended (None: no webhook configured)
    alert: AlertRecord | None = None
    #: dbt's documentation site for the run: written or not, where (pipeline/steps/docs.py)
    docs: Section | None = None

    def apply(self, update: ManifestUpdate, *, step: str | None) -> None:
        """Record what step ``step`` produced: its sections replace ours, its warnings add."""
        for item in dataclasses.fields(update):
            value = getattr(update, item.name)
            if item.name != "warnings" and value is not None:
                setattr(self, item.name, value)
        self.warnings.extend(RunWarning(step if w.step is None else w.step, w.message)
                             for w in update.warnings)

    def warn(self, step: str | None, message: str) -> None:
        self.warnings.append(RunWarning(step, message))

    def step(self, name: str) -> StepRecord | None:
        """The last record of step ``name`` (None if the run has none)."""
        return next((s for s in reversed(self.steps) if s.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``logs/pipeline_<run_id>.json``."""
        document: dict[str, Any] = {
            "manifest_version": self.manifest_version, "run_id": self.run_id,
            "status": self.status, "started_at": self.started_at,
            "finished_at": self.finished_at, "duration_s": self.duration_s,
            "params": self.params.to_json() if self.params else {}, "home": self.home,
            "host": self.host, "pid": self.pid, "boot_id": self.boot_id,
            "process_start": self.process_start, "failed_step": self.failed_step,
            "error": self.error, "steps": [s.to_json() for s in self.steps],
            "warnings": [w.to_json() for w in self.warnings],
            "row_counts": self.row_counts.to_json(), "ingestion": self.ingestion,
            "dbt": self.dbt.to_json(), "freshness": self.freshness,
            "contracts": self.contracts, "schema_drift": self.schema_drift,
            "anomalies": self.anomalies, "snapshot": self.snapshot.to_json(),
            "pointer_updated": self.pointer_updated, "previous_run_id": self.previous_run_id,
            "versions": self.versions, "git_commit": self.git_commit,
            "artifacts": self.artifacts,
        }
        for name in _OPTIONAL_SECTIONS:
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        for name in _OPTIONAL_RECORDS:
            if getattr(self, name) is not None:
                document[name] = getattr(self, name).to_json()
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> RunManifest:
        """A manifest read back (already checked against the schema); what an earlier
        version did not write takes its default."""
        def section(name: str) -> Section:
            return _mapping(document.get(name))

        optional = {name: (dict(document[name]) if isinstance(document.get(name), Mapping)
                           else None)
                    for name in ("pii_key", "engine", "metric_anomalies", "health", "docs")}
        return cls(
            run_id=str(document["run_id"]), status=document["status"],
            started_at=_text(document.get("started_at")), home=str(document.get("home") or ""),
            params=RunParams.from_json(document.get("params")),
            host=_text(document.get("host")), pid=_integer(document.get("pid")),
            boot_id=_text(document.get("boot_id")),
            process_start=_integer(document.get("process_start")),
            manifest_version=_integer(document.get("manifest_version")) or MANIFEST_VERSION,
            finished_at=_text(document.get("finished_at")),
            duration_s=_number(document.get("duration_s")),
            failed_step=_text(document.get("failed_step")), error=_text(document.get("error")),
            steps=[StepRecord.from_json(s) for s in document.get("steps") or ()],
            warnings=[RunWarning.from_json(w) for w in document.get("warnings") or ()],
            row_counts=RowCounts.from_json(document.get("row_counts")),
            ingestion=section("ingestion"), dbt=DbtSummary.from_json(document.get("dbt")),
            freshness=section("freshness"), contracts=section("contracts"),
            schema_drift=section("schema_drift"), anomalies=section("anomalies"),
            snapshot=SnapshotRecord.from_json(document.get("snapshot")),
            pointer_updated=document.get("pointer_updated") is True,
            previous_run_id=_text(document.get("previous_run_id")),
            versions=section("versions"), git_commit=_text(document.get("git_commit")),
            artifacts={k: v for k, v in section("artifacts").items() if isinstance(v, str)},
            published_at=_text(document.get("published_at")), **optional,
            sources=SourcesRecord.from_json(document.get("sources")),
            archive=ArchiveRecord.from_json(document.get("archive")),
            orchestrator=OrchestratorRef.from_json(document.get("orchestrator")),
            alert=AlertRecord.from_json(document.get("alert")),
        )
