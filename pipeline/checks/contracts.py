"""Evaluate the ODCS data contracts in ``contracts/`` against one snapshot.

Over 400 lines on purpose: one concern (turning datacontract-cli's checks into the
project's PASS/WARN/FAIL results), whose mapping tables and result parsing read best
side by side; the contract cache is already apart (:mod:`pipeline.checks.contract_cache`).

One module, one entry point (:func:`evaluate`): every ``contracts/*.odcs.yaml`` is run
through datacontract-cli (presence, types, not-null, uniqueness, foreign keys, row
counts, SQL quality rules, freshness of ``_ingested_at``) and the freshness SLAs on
event-time columns are measured here in SQL, because datacontract-cli measures age
against the wall clock and a run's data ends at its as-of cut-off instead. Not-null and
uniqueness checks that dbt's tests of the same run already counted are reported from
those counts (:mod:`pipeline.checks.contract_reuse`), and the row count of a table with an
event-time SLA is taken in the query that measures its freshness
(:mod:`pipeline.checks.contract_row_counts`).

Time, all UTC:

* the as-of cut-off is ``as_of 00:00Z``; an event-time freshness SLA of ``N`` hours
  passes when ``cut-off - max(column) <= N h`` (the newest row is at most N hours
  older than the cut-off). SQL quality rules read the cut-off from the
  ``${CARTON_CAPS_AS_OF_CUTOFF}`` variable (ISO timestamp without zone, UTC) and the
  start of the covered window (cut-off minus ``days``) from ``${CARTON_CAPS_WINDOW_START}``;
* ``_ingested_at`` freshness is measured by datacontract-cli against the evaluation
  time, which is the load time plus the minutes ``dbt build`` took.

Each check becomes one :class:`ContractResult`: PASS, or WARN/FAIL according to the
check's declared severity (``warn``/``fail``); a FAIL is what fails a run.

Severity is declared in the contract: a quality rule's ``severity`` (``error`` = fail,
``warning`` = warn); an SLA's ``customProperties.severity``; for column checks the
column's ``customProperties`` (``severity``, ``uniqueSeverity``, ``relationshipSeverity``)
falling back to the table's ``customProperties`` (``schemaSeverity`` for presence/type
checks, then ``severity``; default ``fail``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

import duckdb
from foundation.paths import CONTRACTS_DIR
from pipeline.checks import contract_reuse, contract_row_counts
from pipeline.checks.contract_cache import contract_source

logger = logging.getLogger(__name__)

CONTRACT_GLOB = "*.odcs.yaml"
CUTOFF_VARIABLE = "CARTON_CAPS_AS_OF_CUTOFF"
WINDOW_START_VARIABLE = "CARTON_CAPS_WINDOW_START"
LOAD_TIME_COLUMN = "_ingested_at"
SEVERITIES = ("warn", "fail")
#: datacontract-cli's threshold of a not-null or uniqueness check, as it describes it.
REUSED_THRESHOLD = "= 0"
STATUSES = ("PASS", "WARN", "FAIL")

_DC_WARN = {"info", "warning", "warn", "low", "minor", "trivial"}
# libyaml's safe loader and dumper when built in: the same documents, several times faster
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ContractError(RuntimeError):
    """A contract file cannot be read or evaluated at all (not a failing check)."""


@dataclass(frozen=True)
class ContractResult:
    """One evaluated check: the row of ``ops.contract_results``."""

    contract_id: str
    layer: str
    table: str
    column: str | None
    check: str
    check_type: str
    owner: str
    severity: str
    status: str
    measured: str | None
    threshold: str | None
    message: str | None
    engine: str

    @property
    def blocking(self) -> bool:
        return self.status == "FAIL"


@dataclass(frozen=True)
class ContractReport:
    """Every check of every contract for one snapshot."""

    results: tuple[ContractResult, ...]
    as_of_cutoff: datetime
    evaluated_at: datetime

    @property
    def failing(self) -> tuple[ContractResult, ...]:
        return tuple(r for r in self.results if r.status != "PASS")

    @property
    def blocking(self) -> tuple[ContractResult, ...]:
        return tuple(r for r in self.results if r.blocking)

    def summary(self) -> dict[str, Any]:
        counts = {status.lower(): 0 for status in STATUSES}
        for result in self.results:
            counts[result.status.lower()] += 1
        return {**counts, "total": len(self.results),
                "contracts": sorted({r.contract_id for r in self.results})}

    def to_manifest(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "as_of_cutoff": self.as_of_cutoff.isoformat() + "Z",
            "evaluated_at": self.evaluated_at.isoformat(timespec="seconds") + "Z",
            "failing": [asdict(r) for r in self.failing],
        }


# --------------------------------------------------------------------------- contracts


@dataclass(frozen=True)
class _TablePolicy:
    owner: str
    severity: str
    column_severity: dict[tuple[str, str], str]  # (column, check kind) -> severity


def as_of_cutoff(as_of: date) -> datetime:
    """The run's cut-off: ``as_of 00:00Z``, as a naive datetime holding UTC."""
    return datetime.combine(as_of, time(0, 0))


def contract_files(contracts_dir: Path = CONTRACTS_DIR) -> list[Path]:
    return sorted(contracts_dir.glob(CONTRACT_GLOB))


def load_contract(path: Path) -> dict[str, Any]:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"cannot read contract {path.name}: {exc}") from None
    if not isinstance(document, dict) or not document.get("schema"):
        raise ContractError(f"contract {path.name} declares no schema")
    return document


def _custom(node: dict[str, Any], name: str, default: Any = None) -> Any:
    for item in node.get("customProperties") or []:
        if item.get("property") == name:
            return item.get("value")
    return default


def _severity(value: Any, default: str = "fail") -> str:
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in _DC_WARN:
        return "warn"
    return "fail"


def _status(ok: bool, severity: str) -> str:
    """A check's status: PASS, else what its declared severity makes of a miss. Only a
    ``fail`` check that misses is a FAIL (what fails a run); any other misses as a WARN."""
    if ok:
        return "PASS"
    return "FAIL" if severity == "fail" else "WARN"


def _layer(document: dict[str, Any]) -> str:
    servers = document.get("servers") or [{}]
    return str(servers[0].get("schema") or "main")


def _policies(document: dict[str, Any]) -> dict[str, _TablePolicy]:
    policies = {}
    for table in document["schema"]:
        table_severity = _severity(_custom(table, "severity"), "fail")
        schema_severity = _custom(table, "schemaSeverity")
        column_severity: dict[tuple[str, str], str] = {}
        for prop in table.get("properties") or []:
            base = _custom(prop, "severity")
            for kind, key in (("required", "requiredSeverity"), ("unique", "uniqueSeverity"),
                              ("relationship", "relationshipSeverity"), ("type", "typeSeverity")):
                fallback = schema_severity if kind == "type" and base is None else base
                value = _custom(prop, key, fallback)
                if value is not None:
                    column_severity[(prop["name"], kind)] = _severity(value)
        policies[table["name"]] = _TablePolicy(
            owner=str(_custom(table, "owner", document.get("domain") or "Engineering")),
            severity=table_severity, column_severity=column_severity)
    return policies


def table_owners(contracts_dir: Path = CONTRACTS_DIR) -> dict[tuple[str, str], str]:
    """(layer, table) -> the team that owns it, as every contract declares it: who a
    finding about that table goes to."""
    owners = {}
    for path in contract_files(contracts_dir):
        document = load_contract(path)
        layer = _layer(document)
        owners.update({(layer, table): policy.owner
                       for table, policy in _policies(document).items()})
    return owners


def _quality_severities(document: dict[str, Any]) -> dict[str, str]:
    severities = {}
    for table in document["schema"]:
        rules = list(table.get("quality") or [])
        for prop in table.get("properties") or []:
            rules.extend(prop.get("quality") or [])
        for rule in rules:
            if rule.get("id"):
                severities[rule["id"]] = _severity(rule.get("severity"))
    return severities


def _freshness_slas(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [sla for sla in document.get("slaProperties") or []
            if sla.get("property") == "freshness" and sla.get("element")]


def _split_slas(document: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The contract datacontract-cli evaluates, and the event-time SLAs measured here."""
    event_slas = [sla for sla in _freshness_slas(document)
                  if str(sla["element"]).split(".")[-1] != LOAD_TIME_COLUMN]
    kept = [sla for sla in document.get("slaProperties") or [] if sla not in event_slas]
    for_cli = {**document, "slaProperties": kept} if kept else {
        key: value for key, value in document.items() if key != "slaProperties"}
    return for_cli, event_slas


@dataclass(frozen=True)
class _EventSla:
    """An event-time SLA with its ``element`` resolved once: which relation and column
    its ``max`` is read from, and which table's row count may be counted beside it."""

    table: str  # the contract's table name
    physical: str  # the relation read
    column: str
    declared: dict[str, Any]  # the SLA as the contract states it (id, value, unit, severity)


def _event_slas(document: dict[str, Any], slas: list[dict[str, Any]]) -> list[_EventSla]:
    """The event-time SLAs resolved to their tables; a table the contract lacks is an error."""
    tables = {t["name"]: t for t in document["schema"]}
    resolved = []
    for sla in slas:
        table_name, column = str(sla["element"]).split(".", 1)
        if table_name not in tables:
            raise ContractError(f"contract {document.get('id')}: SLA element {sla['element']!r} "
                                "names no table of the contract")
        resolved.append(_EventSla(
            table=table_name, physical=tables[table_name].get("physicalName") or table_name,
            column=column, declared=sla))
    return resolved


def _bind(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def _bind_quality(node: Any, values: dict[str, str]) -> None:
    """Bind the variables in the quality queries of a schema object or property, nested
    properties included (in place, on a copy of the parsed contract)."""
    for quality in getattr(node, "quality", None) or ():
        if quality.query:
            quality.query = _bind(quality.query, values)
    for child in [*(getattr(node, "properties", None) or ()),
                  *([node.items] if getattr(node, "items", None) else [])]:
        _bind_quality(child, values)


def bind_time_variables(source: dict[str, Any], values: dict[str, datetime]) -> dict[str, Any]:
    """The ``DataContract(...)`` source with the run's time bounds in its ``${...}`` queries.

    datacontract-cli would read them from the process environment; they are bound here
    instead, so no run writes ``os.environ``. The cached reading of a contract does not
    depend on them (:mod:`pipeline.checks.contract_cache`): it is copied, then bound.
    """
    text_values = {name: moment.isoformat(sep=" ") for name, moment in values.items()}
    if "data_contract_str" in source:
        return {"data_contract_str": _bind(source["data_contract_str"], text_values)}
    contract = source["data_contract"].model_copy(deep=True)
    for schema in contract.schema_ or ():
        _bind_quality(schema, text_values)
    return {"data_contract": contract}


# --------------------------------------------------------------------------- evaluation


def _fmt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _check_kind(check_type: str) -> str:
    return {"field_required": "required", "field_unique": "unique",
            "field_primary_key_unique": "unique",
            "field_relationships": "relationship", "field_type": "type",
            "field_is_present": "type", "field_physical_type": "type"}.get(check_type, "")


_CHECK_NAMES = {
    "field_is_present": "column_present",
    "field_type": "column_type",
    "field_physical_type": "column_type",
    "field_required": "not_null",
    "field_unique": "unique",
    "field_primary_key_unique": "unique",
    "field_relationships": "foreign_key",
    "row_count": "min_rows",
    "servicelevel_freshness": "freshness",
}


def _measured_and_threshold(check: Any) -> tuple[str | None, str | None]:
    diag = check.diagnostics or {}
    metric = diag.get("metric")
    if metric == "freshness":
        age = diag.get("age_seconds")
        limit = diag.get("threshold_seconds")
        return (None if age is None else f"{age / 3600:.2f} h",
                None if limit is None else f"<= {limit / 3600:g} h")
    if metric == "field_present":
        return ("present" if diag.get("present") else "missing", "present")
    if metric == "field_type":
        return _fmt(diag.get("actual")), _fmt(diag.get("expected"))
    return _fmt(diag.get("value")), _fmt(diag.get("threshold"))


def _run_datacontract(document: dict[str, Any], db_path: Path, cache_dir: Path | None,
                      variables: dict[str, datetime]) -> list[Any]:
    from datacontract.data_contract import DataContract

    text = yaml.dump(document, Dumper=_YAML_DUMPER, sort_keys=False)
    source = bind_time_variables(contract_source(text, cache_dir), variables)
    run = DataContract(**source, server="snapshot",
                       config={"DATACONTRACT_DUCKDB_DATABASE": str(db_path)}).test()
    return list(run.checks or [])


def _results_from_cli(document: dict[str, Any], checks: list[Any]) -> list[ContractResult]:
    contract_id = str(document.get("id"))
    layer = _layer(document)
    policies = _policies(document)
    quality = _quality_severities(document)
    sla_severity = {str(sla["element"]).split(".")[-1]: _severity(_custom(sla, "severity"), "warn")
                    for sla in _freshness_slas(document)}
    by_physical = {t.get("physicalName") or t["name"]: t["name"] for t in document["schema"]}
    results = []
    for check in checks:
        table = by_physical.get(check.model or "", check.model)
        policy = policies.get(table or "")
        if policy is None:
            # A contract-level problem (lint, connection): fail loudly, it hides every check.
            results.append(ContractResult(
                contract_id=contract_id, layer=layer, table=table or "*", column=check.field,
                check=check.type or "contract", check_type=check.type or "contract",
                owner="Engineering", severity="fail",
                status=_status(str(check.result.value) == "passed", "fail"),
                measured=None, threshold=None, message=check.reason or check.name,
                engine="datacontract-cli"))
            continue
        if check.qualityId and check.qualityId in quality:
            severity = quality[check.qualityId]
        elif check.type == "servicelevel_freshness":
            severity = sla_severity.get(check.field or "", "warn")
        else:
            severity = policy.column_severity.get(
                (check.field or "", _check_kind(check.type or "")), policy.severity)
        outcome = str(check.result.value) if check.result is not None else "error"
        status = _status(outcome == "passed", severity)
        measured, threshold = _measured_and_threshold(check)
        name = check.qualityId or _CHECK_NAMES.get(check.type or "", check.type or "check")
        message = None if status == "PASS" else (check.reason or check.name)
        results.append(ContractResult(
            contract_id=contract_id, layer=layer, table=table, column=check.field, check=name,
            check_type=check.type or "", owner=policy.owner, severity=severity, status=status,
            measured=measured, threshold=threshold, message=message, engine="datacontract-cli"))
    return results


def _results_from_dbt(document: dict[str, Any],
                      reused: list[contract_reuse.ReusedCheck]) -> list[ContractResult]:
    """The checks dbt's tests measured in this run (:mod:`pipeline.checks.contract_reuse`),
    judged exactly as datacontract-cli judges them: no null rows, no duplicated key."""
    contract_id, layer = str(document.get("id")), _layer(document)
    policies = _policies(document)
    results = []
    for check in reused:
        policy = policies[check.table]
        severity = policy.column_severity.get((check.column, _check_kind(check.check_type)),
                                              policy.severity)
        failures = check.measurement.failures
        status = _status(failures == 0, severity)
        message = None if status == "PASS" else (
            f"Actual {check.metric}({check.column}) was {failures}, expected = 0 "
            f"(measured by dbt test {check.measurement.test_name})")
        results.append(ContractResult(
            contract_id=contract_id, layer=layer, table=check.table, column=check.column,
            check=_CHECK_NAMES[check.check_type], check_type=check.check_type,
            owner=policy.owner, severity=severity, status=status, measured=str(failures),
            threshold=REUSED_THRESHOLD, message=message, engine="dbt"))
    return results


@dataclass(frozen=True)
class _TableMeasurement:
    """What the one query of a table found, or the error that kept it from reading it."""

    newest_by_column: dict[str, Any]  # SLA column -> its max (None: no rows)
    rows: int | None  # count(*), when a rowCount rule of the table is counted here
    error: str | None  # the first line of DuckDB's error; the other fields are then empty


def _measure_table(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], *,
                   count: bool) -> _TableMeasurement:
    """One read of ``relation``: ``max`` of each column, with ``count(*)`` beside them when
    a row count is taken, so the relation (a deduplicating view) is read once."""
    selected = [f'max("{name}")' for name in columns] + (["count(*)"] if count else [])
    try:
        row = con.execute(f'select {", ".join(selected)} from {relation}').fetchone()  # noqa: S608
    except duckdb.Error as exc:
        return _TableMeasurement(newest_by_column={}, rows=None,
                                 error=str(exc).splitlines()[0])
    values = list(row or ())
    rows = values.pop() if count else None
    return _TableMeasurement(newest_by_column=dict(zip(columns, values, strict=True)),
                             rows=rows, error=None)


def _measure_tables(document: dict[str, Any], slas: list[_EventSla],
                    row_counts: list[contract_row_counts.RowCountRule],
                    con: duckdb.DuckDBPyConnection, cutoff: datetime) -> list[ContractResult]:
    """The event-time SLAs and the row counts taken from datacontract-cli, one query per
    table with an SLA: ``max`` of each SLA column and ``count(*)`` read the relation once.
    Only tables with an SLA have a row count here (:func:`evaluate` takes no other)."""
    layer = _layer(document)
    by_table: dict[str, list[_EventSla]] = {}
    for sla in slas:
        by_table.setdefault(sla.table, []).append(sla)
    counted = {rule.table for rule in row_counts}
    measured = {table_name: _measure_table(con, f'"{layer}"."{group[0].physical}"',
                                           list(dict.fromkeys(sla.column for sla in group)),
                                           count=table_name in counted)
                for table_name, group in by_table.items()}
    return ([*_freshness_results(document, slas, measured, cutoff),
             *_row_count_results(document, row_counts, measured)])


def _freshness_results(document: dict[str, Any], slas: list[_EventSla],
                       measured: dict[str, _TableMeasurement],
                       cutoff: datetime) -> list[ContractResult]:
    """Event-time freshness: hours from the newest row to the as-of cut-off."""
    contract_id, layer = str(document.get("id")), _layer(document)
    policies = _policies(document)
    results = []
    for sla in slas:
        declared, column = sla.declared, sla.column
        hours = (float(declared["value"])
                 * {"d": 24, "h": 1, "m": 1 / 60}[str(declared.get("unit", "h"))[0]])
        severity = _severity(_custom(declared, "severity"), "warn")
        measurement = measured[sla.table]
        newest = measurement.newest_by_column.get(column)
        if newest is None:
            age = None
            ok = False
            message = measurement.error or f"{sla.physical}.{column} has no rows"
        else:
            age_h = (cutoff - newest).total_seconds() / 3600
            age = f"{age_h:.2f} h"
            ok = age_h <= hours
            message = None if ok else (
                f"newest {column} is {newest.isoformat(sep=' ')} UTC, {age_h:.1f} h before the "
                f"as-of cut-off {cutoff.isoformat(sep=' ')} UTC (SLA {hours:g} h)")
        results.append(ContractResult(
            contract_id=contract_id, layer=layer, table=sla.table, column=column,
            check=declared.get("id") or "freshness", check_type="event_time_freshness",
            owner=policies[sla.table].owner, severity=severity, status=_status(ok, severity),
            measured=age, threshold=f"<= {hours:g} h", message=message, engine="sql"))
    return results


def _row_count_results(document: dict[str, Any],
                       rules: list[contract_row_counts.RowCountRule],
                       measured: dict[str, _TableMeasurement]) -> list[ContractResult]:
    """The rowCount rules counted beside the freshness, judged as datacontract-cli judges
    them (a query that fails is a failed check, as there)."""
    contract_id, layer = str(document.get("id")), _layer(document)
    policies = _policies(document)
    severities = _quality_severities(document)
    results = []
    for rule in rules:
        measurement = measured[rule.table]
        rows, error = measurement.rows, measurement.error
        severity = severities[rule.quality_id]
        ok = error is None and rows is not None and rule.passes(rows)
        message = None if ok else (f"Error evaluating check: {error}" if error is not None
                                   else rule.failure_message(int(rows or 0)))
        results.append(ContractResult(
            contract_id=contract_id, layer=layer, table=rule.table, column=None,
            check=rule.quality_id, check_type=contract_row_counts.ROW_COUNT_METRIC,
            owner=policies[rule.table].owner, severity=severity, status=_status(ok, severity),
            measured=None if error is not None else str(rows),
            threshold=None if error is not None else rule.threshold,
            message=message, engine="sql"))
    return results


@contextlib.contextmanager
def _bounded_instance(db_path: Path, settings: Mapping[str, str]
                      ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection that holds the snapshot's DuckDB instance open with these
    settings applied. datacontract-cli opens the same file read-only without a config,
    which DuckDB serves from this very instance: its queries get the same memory limit
    and spill folder (it offers no way to pass them)."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        for name, value in settings.items():
            con.execute(f"set {name} = '{value}'")
        yield con


def evaluate(db_path: Path, *, as_of: date, days: int,
             contracts_dir: Path = CONTRACTS_DIR, now: datetime | None = None,
             only: tuple[str, ...] | None = None,
             cache_dir: Path | None = None,
             duckdb_config: Mapping[str, str] | None = None,
             measured_by_dbt: Mapping[contract_reuse.PropertyKey,
                                      contract_reuse.DbtMeasurement] | None = None,
             count_with_freshness: bool = True,
             ) -> ContractReport:
    """Run every contract (or the files named in ``only``) against ``db_path``, read-only.

    ``as_of`` and ``days`` are the run's parameters: the data covers
    ``[as_of 00:00Z - days, as_of 00:00Z)``. ``cache_dir`` keeps datacontract-cli's
    reading of each contract text for later runs (:mod:`pipeline.checks.contract_cache`);
    ``duckdb_config`` (``memory_limit``, ``temp_directory``) bounds DuckDB meanwhile.
    ``measured_by_dbt``: the not-null and uniqueness counts dbt's tests took of this very
    snapshot in this run (:func:`pipeline.checks.contract_reuse.measured_by_dbt`); those
    checks are reported from them instead of being scanned again.
    ``count_with_freshness``: a table with an event-time SLA has its rowCount rule
    counted in the freshness query (:mod:`pipeline.checks.contract_row_counts`) instead
    of by datacontract-cli; False leaves every row count to datacontract-cli.
    """
    cutoff = as_of_cutoff(as_of)
    window_start = cutoff - timedelta(days=days)
    files = [f for f in contract_files(contracts_dir) if only is None or f.name in only]
    if not files:
        raise ContractError(f"no contracts ({CONTRACT_GLOB}) in {contracts_dir}")
    results: list[ContractResult] = []
    variables = {CUTOFF_VARIABLE: cutoff, WINDOW_START_VARIABLE: window_start}
    with _bounded_instance(db_path, duckdb_config or {}) as con:
        for path in files:
            document = load_contract(path)
            for_cli, declared_slas = _split_slas(document)
            for_cli, reused = contract_reuse.split_measured(
                for_cli, _layer(document), dict(measured_by_dbt or {}))
            event_slas = _event_slas(document, declared_slas)
            for_cli, row_counts = contract_row_counts.split_row_counts(
                for_cli, {sla.table for sla in event_slas} if count_with_freshness else ())
            logger.debug("evaluating contract %s (%d checks measured by dbt)",
                         path.name, len(reused))
            results.extend(_results_from_cli(
                document, _run_datacontract(for_cli, db_path, cache_dir, variables)))
            results.extend(_results_from_dbt(document, reused))
            if event_slas:
                results.extend(_measure_tables(document, event_slas, row_counts, con, cutoff))
    evaluated_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    return ContractReport(results=tuple(results), as_of_cutoff=cutoff, evaluated_at=evaluated_at)


def ops_rows(run_id: str, report: ContractReport) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``ops.contract_results`` for this report."""
    return {"contract_results": [
        {"run_id": run_id, "contract_id": r.contract_id, "layer": r.layer,
         "table_name": r.table, "column_name": r.column, "check_name": r.check,
         "check_type": r.check_type, "owner": r.owner, "severity": r.severity,
         "status": r.status, "measured": r.measured, "threshold": r.threshold,
         "message": r.message, "engine": r.engine, "evaluated_at": report.evaluated_at}
        for r in report.results]}
