"""Rejected rows: one record per rejected source line, with a short human reason.

A rejected line of a table that declares PII is recorded without its text: a line that
could not be parsed cannot be masked column by column (a rejected SQLite row can, and
is: :mod:`loader.sql`). Its reason never quotes a PII value: only a typed column fails a
cast, and PII columns are text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb
from foundation.source_tables import SourceTable
from loader.plan import CsvPlan
from loader.report import MAX_SAMPLE_TEXT

MAX_REJECT_TEXT = 4096  # characters of the raw line kept in raw._rejects


@dataclass(frozen=True)
class Reject:
    line: int | None
    column_name: str | None
    error_type: str
    reason: str
    raw_text: str | None

    def describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column_name:
            where.append(f"column {self.column_name}")
        prefix = " ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def record(self, table: SourceTable, source_file: str) -> dict[str, Any]:
        """This reject as a plain dict (the columns of ``raw._rejects`` but ``run_id``)."""
        text = self.raw_text
        return {"table_name": table.name, "source_file": source_file, "line": self.line,
                "column_name": self.column_name, "error_type": self.error_type,
                "reason": self.reason,
                "raw_text": None if text is None else text[:MAX_SAMPLE_TEXT]}


_CAST_MESSAGE = re.compile(r"""Could not convert string "(?P<value>.*)" to '(?P<type>[^']+)'""",
                           re.DOTALL)
_FIELD_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def reject_reason(error_type: str, message: str, declared_type: str | None) -> str:
    """A short human reason for one DuckDB CSV error."""
    if error_type == "CAST":
        match = _CAST_MESSAGE.search(message)
        if match:
            shown = declared_type or match.group("type")
            return f"could not convert {match.group('value')!r} to {shown}"
    if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        match = _FIELD_COUNT.search(message)
        if match:
            return f"expected {match.group(1)} fields, found {match.group(2)}"
    if error_type == "UNQUOTED VALUE":
        return "unterminated quoted field"
    if error_type == "INVALID ENCODING":
        return "invalid UTF-8 byte sequence"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return "line longer than the maximum line size"
    return message.splitlines()[0] if message else error_type.lower()


def csv_rejects(con: duckdb.DuckDBPyConnection, plan: CsvPlan) -> list[Reject]:
    """One reject per rejected line: the first error of that line (by column)."""
    rows = con.execute(
        f"""
        select line, column_name, error_type, error_message, left(csv_line, {MAX_REJECT_TEXT})
        from (
            select *, row_number() over (
                partition by line
                order by case error_type
                    when 'UNQUOTED VALUE' then 0
                    when 'INVALID ENCODING' then 1
                    when 'TOO MANY COLUMNS' then 2
                    when 'MISSING COLUMNS' then 3
                    else 4 end,
                    column_idx) as error_rank
            from _load_rejects
        )
        where error_rank = 1
        order by line
        """  # noqa: S608
    ).fetchall()
    rejects: list[Reject] = []
    withhold_text = plan.table.has_pii
    for line, column_name, error_type, message, raw_text in rows:
        declared_type = None
        shown_column = column_name
        if column_name and column_name.startswith("_extra_"):
            shown_column = None
        elif column_name in plan.table.column_names:
            declared_type = plan.table.column(column_name).duckdb_type
        if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
            shown_column = None
        rejects.append(Reject(line, shown_column, error_type,
                               reject_reason(error_type, message or "", declared_type),
                               None if withhold_text else raw_text))
    return rejects

