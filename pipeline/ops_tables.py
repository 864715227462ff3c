"""Bulk insertion into the snapshot's ``ops`` tables.

Row-by-row ``executemany`` costs about a millisecond a row in DuckDB; the ops tables
hold thousands (every column of every table), so rows go in as one data frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

import duckdb


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]) -> int:
    """Append ``rows`` (tuples in the table's column order) to ``ops.<table>``."""
    if not rows:
        return 0
    columns = [row[0] for row in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'ops' and table_name = ? order by ordinal_position",
        [table]).fetchall()]
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns, dtype=object)
    con.register("ops_rows_frame", frame)
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'insert into ops."{table}" ({names}) '  # noqa: S608
                    f"select {names} from ops_rows_frame")
    finally:
        con.unregister("ops_rows_frame")
    return len(rows)
