"""The schema snapshot: every column of every table in a snapshot, as plain data.

Written to ``logs/schema_<run_id>.json`` so that any two runs can be compared without
opening their databases.
"""

from __future__ import annotations

from typing import Any

import duckdb

SNAPSHOT_SCHEMAS = ("raw", "staging", "intermediate", "monitoring", "marts", "ops")


def capture(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Columns of the pipeline's schemas, ordered by schema, table and position."""
    rows = con.execute(
        """
        select c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type,
               c.is_nullable = 'YES' as is_nullable, c.ordinal_position
        from information_schema.columns as c
        join information_schema.tables as t
          on t.table_catalog = c.table_catalog
         and t.table_schema = c.table_schema
         and t.table_name = c.table_name
        where c.table_catalog = current_database()
          and list_contains(?, c.table_schema)
        order by c.table_schema, c.table_name, c.ordinal_position
        """,
        [list(SNAPSHOT_SCHEMAS)],
    ).fetchall()
    keys = ("schema", "table", "table_type", "column", "type", "nullable", "ordinal")
    return [dict(zip(keys, row, strict=True)) for row in rows]

