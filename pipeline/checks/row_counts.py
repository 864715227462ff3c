"""Rows per table of a snapshot's raw layer and marts, for the manifest and run comparison."""

from __future__ import annotations

import duckdb
from pipeline.records.run_manifest import RowCounts


def _count(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    tables = [row[0] for row in con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [schema],
    ).fetchall()]
    counts = {}
    for table in tables:
        quoted = f'"{schema}"."{table}"'
        counts[table] = con.execute(f"select count(*) from {quoted}").fetchone()[0]  # noqa: S608
    return counts


def count_rows(con: duckdb.DuckDBPyConnection) -> RowCounts:
    """Every base table of schemas ``raw`` and ``marts`` with its row count."""
    return RowCounts(raw=_count(con, "raw"), marts=_count(con, "marts"))
