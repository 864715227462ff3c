"""No plaintext PII in any file a run publishes: its snapshot, manifest, log, schema
snapshot and dbt artefacts. (``data/<run_id>/`` is the source systems' export, not
published: it keeps the plaintext, which is what the scan looks for.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
from tests.conftest import TinyRun


@dataclass(frozen=True)
class SourcePii:
    """Every plaintext value of the run's users source table."""

    emails: frozenset[str]
    phones: frozenset[str]
    names: frozenset[str]

    @property
    def substrings(self) -> frozenset[str]:
        """What must not occur anywhere, even inside a longer text."""
        return self.emails | self.phones


def _source_pii(run: TinyRun) -> SourcePii:
    with sqlite3.connect(run.home / "data" / run.run_id / "app.sqlite") as con:
        rows = con.execute("select email, phone, first_name, last_name from users").fetchall()

    def values(index: int) -> frozenset[str]:
        return frozenset(row[index] for row in rows if row[index])

    return SourcePii(values(0), values(1), values(2) | values(3))


def _published_files(run: TinyRun) -> list[Path]:
    logs = run.home / "logs"
    return [run.snapshot, run.pointer, *(path for path in sorted(logs.rglob("*"))
                                         if path.is_file())]


def _relation_values(snapshot: Path) -> Iterator[tuple[str, str, set[str]]]:
    """(relation, column, distinct values as text) for every column of every table and view."""
    with duckdb.connect(str(snapshot), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by all").fetchall()
        for schema, name in relations:
            cursor = con.execute(f'select * from "{schema}"."{name}"')
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            for index, column in enumerate(columns):
                yield (f"{schema}.{name}", column,
                       {str(row[index]) for row in rows if row[index] is not None})


def test_the_scan_finds_the_plaintext_where_it_is(tiny_run: TinyRun) -> None:
    """The needles are real: 300 users give hundreds of emails, phones and names, all of
    them in the source database the scan below must not find them outside of."""
    pii = _source_pii(tiny_run)
    assert len(pii.emails) > 150 and len(pii.phones) > 80 and len(pii.names) > 100
    source = (tiny_run.home / "data" / tiny_run.run_id / "app.sqlite").read_bytes()
    assert all(value.encode() in source for value in pii.substrings)


def test_no_published_file_holds_a_plaintext_email_or_phone(tiny_run: TinyRun) -> None:
    needles = [value.encode() for value in _source_pii(tiny_run).substrings]
    files = _published_files(tiny_run)
    assert {path.name for path in files} >= {
        tiny_run.snapshot.name, "pipeline_tiny.json", "pipeline_tiny.log", "schema_tiny.json",
        "manifest.json", "run_results.json"}
    assert any(path.suffix == ".sql" and "compiled" in path.parts for path in files)
    found = {str(path.relative_to(tiny_run.home)): [n.decode() for n in needles if n in data]
             for path in files if (data := path.read_bytes())}
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_no_table_or_view_of_the_snapshot_holds_plaintext_pii(tiny_run: TinyRun) -> None:
    """Every column of every relation, read as text: emails and phones nowhere, even inside
    a longer value (a manifest copy, a rejected row, a failing-row sample); first and last
    names nowhere as a whole value of a name-like or user-level column."""
    pii = _source_pii(tiny_run)
    leaks: list[tuple[str, str, str]] = []
    relations = set()
    for relation, column, values in _relation_values(tiny_run.snapshot):
        relations.add(relation)
        text = "\n".join(values)
        leaks += [(relation, column, value) for value in pii.substrings if value in text]
        if "name" in column.lower() or "user" in relation:
            leaks += [(relation, column, value) for value in values & pii.names]
    assert {"raw.users", "raw._rejects", "staging.stg_app_db__users", "marts.dim_users",
            "ops.pipeline_runs", "ops.dbt_results", "ops.dbt_test_failure_samples"} <= relations
    assert leaks == []


def test_the_source_export_holding_plaintext_is_readable_by_its_owner_only(
        tiny_run: TinyRun) -> None:
    mode = (tiny_run.home / "data" / tiny_run.run_id).stat().st_mode & 0o777
    assert mode == 0o700
