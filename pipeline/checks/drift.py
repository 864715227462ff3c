"""Schema snapshot rows and the schema drift between two runs.

The snapshot of a run is ``logs/schema_<run_id>.json`` (every column of every table of
the pipeline's schemas, see :mod:`pipeline.checks.schema_snapshot`). Drift compares it with
the snapshot of the previous successful run: tables added/removed, columns
added/removed, type changed (on normalised type names) and nullability changed. The
loader's own source-file drift (a column the files carry that the declaration does not,
a changed SQLite type) is reported beside it with ``layer = 'source'``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
from foundation import untrusted_files
from foundation.paths import HomePaths
from pipeline.records import manifest as manifest_io

_TYPE_ALIASES = {
    "INT": "INTEGER", "INT4": "INTEGER", "SIGNED": "INTEGER", "INT8": "BIGINT",
    "LONG": "BIGINT", "INT2": "SMALLINT", "SHORT": "SMALLINT", "INT1": "TINYINT",
    "STRING": "VARCHAR", "TEXT": "VARCHAR", "CHAR": "VARCHAR", "BPCHAR": "VARCHAR",
    "BOOL": "BOOLEAN", "LOGICAL": "BOOLEAN", "FLOAT8": "DOUBLE", "FLOAT": "FLOAT",
    "FLOAT4": "FLOAT", "REAL": "FLOAT", "NUMERIC": "DECIMAL", "DATETIME": "TIMESTAMP",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
}

#: what every column of a schema snapshot names (pipeline/checks/schema_snapshot.py writes them)
_COLUMN_KEYS = ("schema", "table", "column", "type")


def normalize_type(type_name: str) -> str:
    """A canonical spelling of a DuckDB type (``int`` -> ``INTEGER``, ``DECIMAL(12, 2)``)."""
    text = re.sub(r"\s+", " ", str(type_name).strip().upper())
    text = re.sub(r"\s*\(\s*", "(", text)
    text = re.sub(r"\s*,\s*", ", ", text)
    text = re.sub(r"\s*\)", ")", text)
    base, sep, rest = text.partition("(")
    base = _TYPE_ALIASES.get(base, base)
    if base == "VARCHAR" and sep:
        return "VARCHAR"  # a length is not enforced by DuckDB
    return f"{base}{sep}{rest}"


@dataclass(frozen=True)
class DriftChange:
    """One difference between two schema snapshots (one row of ``ops.schema_drift``)."""

    layer: str
    schema: str
    table: str
    column: str | None
    change: str
    before: str | None
    after: str | None
    detail: str


def _tables(columns: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    tables: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for column in columns:
        tables.setdefault((column["schema"], column["table"]), {})[column["column"]] = column
    return tables


def diff(previous: list[dict[str, Any]], current: list[dict[str, Any]],
         schemas: tuple[str, ...] | None = None) -> list[DriftChange]:
    """Every change from ``previous`` to ``current`` columns, ordered by schema/table/column."""
    before, after = _tables(previous), _tables(current)
    if schemas is not None:
        before = {k: v for k, v in before.items() if k[0] in schemas}
        after = {k: v for k, v in after.items() if k[0] in schemas}
    changes: list[DriftChange] = []
    for key in sorted(before.keys() | after.keys()):
        schema, table = key
        if key not in before:
            cols = after[key]
            changes.append(DriftChange("snapshot", schema, table, None, "table_added", None,
                                       f"{len(cols)} columns",
                                       f"{schema}.{table} is new ({len(cols)} columns)"))
            continue
        if key not in after:
            cols = before[key]
            changes.append(DriftChange("snapshot", schema, table, None, "table_removed",
                                       f"{len(cols)} columns", None,
                                       f"{schema}.{table} no longer exists"))
            continue
        old, new = before[key], after[key]
        for name in [c for c in new if c not in old]:
            col = new[name]
            changes.append(DriftChange(
                "snapshot", schema, table, name, "column_added", None,
                normalize_type(col["type"]),
                f"{schema}.{table}.{name} added ({normalize_type(col['type'])})"))
        for name in [c for c in old if c not in new]:
            col = old[name]
            changes.append(DriftChange(
                "snapshot", schema, table, name, "column_removed",
                normalize_type(col["type"]), None,
                f"{schema}.{table}.{name} removed (was {normalize_type(col['type'])})"))
        for name in [c for c in new if c in old]:
            was, now = normalize_type(old[name]["type"]), normalize_type(new[name]["type"])
            if was != now:
                changes.append(DriftChange("snapshot", schema, table, name, "type_changed",
                                           was, now,
                                           f"{schema}.{table}.{name} type {was} -> {now}"))
            if bool(old[name]["nullable"]) != bool(new[name]["nullable"]):
                label = {True: "nullable", False: "not null"}
                changes.append(DriftChange(
                    "snapshot", schema, table, name, "nullability_changed",
                    label[bool(old[name]["nullable"])], label[bool(new[name]["nullable"])],
                    f"{schema}.{table}.{name} {label[bool(old[name]['nullable'])]} -> "
                    f"{label[bool(new[name]['nullable'])]}"))
    return changes


def source_changes(loader_drift: list[dict[str, Any]]) -> list[DriftChange]:
    """The loader's file-vs-declaration drift, in the same shape."""
    mapping = {"added": "column_added", "removed": "column_removed",
               "type_changed": "type_changed", "missing": "column_removed"}
    changes = []
    for item in loader_drift:
        change = mapping.get(str(item.get("change")), str(item.get("change")))
        changes.append(DriftChange(
            layer="source", schema=str(item.get("source_file", "")),
            table=str(item.get("table_name", "")), column=item.get("column_name"),
            change=change, before=None, after=None,
            detail=f"{item.get('source_file')}: {item.get('table_name')}.{item.get('column_name')}"
                   f" {item.get('change')}: {item.get('detail')}"))
    return changes


class SchemaSnapshotError(untrusted_files.UntrustedFileError):
    """A schema snapshot file that is refused, unreadable or not a schema snapshot."""


def read_snapshot(path: Path, *, home: Path) -> list[dict[str, Any]] | None:
    """The columns of a schema snapshot under ``home``; None when the file does not exist.

    The file is untrusted input: a link, a FIFO, a file outside the home, malformed JSON
    or columns without their names raise SchemaSnapshotError naming the file and why.
    """
    try:
        document = untrusted_files.read_json(path, home=home)
    except FileNotFoundError:
        return None
    except untrusted_files.UntrustedFileError as exc:
        raise SchemaSnapshotError(exc.shown, exc.reason) from None
    columns = document.get("columns") if isinstance(document, dict) else None
    if not isinstance(columns, list) or not all(
            isinstance(c, dict) and all(isinstance(c.get(k), str) for k in _COLUMN_KEYS)
            for c in columns):
        raise SchemaSnapshotError(untrusted_files.shown_path(path, home),
                                  "is not a schema snapshot (no list of named columns)")
    return columns


def capture_file(db_path: Path) -> list[dict[str, Any]]:
    """The schema snapshot of any DuckDB file (e.g. a hand-modified copy of a snapshot)."""
    from pipeline.checks import schema_snapshot

    with duckdb.connect(str(db_path), read_only=True) as con:
        return schema_snapshot.capture(con)


@dataclass(frozen=True)
class DriftReport:
    previous_run_id: str | None
    baseline_available: bool
    changes: tuple[DriftChange, ...]

    def to_manifest(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.change] = counts.get(change.change, 0) + 1
        return {
            "previous_run_id": self.previous_run_id,
            "baseline_available": self.baseline_available,
            "summary": {"changes": len(self.changes),
                        "snapshot": sum(c.layer == "snapshot" for c in self.changes),
                        "source": sum(c.layer == "source" for c in self.changes),
                        "by_change": counts},
            "changes": [asdict(c) for c in self.changes],
        }


def compare_with_previous(paths: HomePaths, run_id: str, started_at: str | None,
                          current: list[dict[str, Any]],
                          loader_drift: list[dict[str, Any]]) -> DriftReport:
    previous = manifest_io.previous_successful(paths, run_id, started_at)
    source = source_changes(loader_drift)
    if previous is None:
        return DriftReport(None, False, tuple(source))
    try:
        columns = read_snapshot(paths.run(previous["run_id"]).schema_snapshot, home=paths.home)
    except SchemaSnapshotError:
        columns = None  # no usable baseline: reported as baseline_available false
    if columns is None:
        return DriftReport(previous["run_id"], False, tuple(source))
    return DriftReport(previous["run_id"], True, tuple(source + diff(columns, current)))


def ops_rows(run_id: str, columns: list[dict[str, Any]],
             report: DriftReport) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``ops.schema_columns`` and ``ops.schema_drift`` for this run."""
    return {
        "schema_columns": [
            {"run_id": run_id, "schema_name": c["schema"], "table_name": c["table"],
             "table_type": c.get("table_type"), "column_name": c["column"],
             "data_type": c["type"], "normalized_type": normalize_type(c["type"]),
             "is_nullable": bool(c["nullable"]), "ordinal_position": c["ordinal"]}
            for c in columns],
        "schema_drift": [
            {"run_id": run_id, "previous_run_id": report.previous_run_id, "layer": c.layer,
             "schema_name": c.schema, "table_name": c.table, "column_name": c.column,
             "change": c.change, "before_value": c.before, "after_value": c.after,
             "detail": c.detail}
            for c in report.changes],
    }
