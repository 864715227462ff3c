"""The SQL of a load: raw tables created from the declaration, CSVs and SQLite tables read.

Every identifier reaches SQL quoted (:func:`quote_ident`), every value as a parameter or
a quoted literal (:func:`sql_str`). A PII column is masked in the same statement that
reads it (:func:`landed_columns`, which also names the key's pads the statement binds), so
its plaintext is never written to the database, not even to a rejected row's record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import duckdb
from foundation import pii
from foundation.ops_tables import RAW_SCHEMA
from foundation.source_tables import Column, SourceTable
from loader.plan import STAMP_COLUMNS, CsvPlan
from loader.rejects import MAX_REJECT_TEXT, Reject, csv_rejects

#: the named parameters the stamp columns are bound to, in :data:`STAMP_COLUMNS`' order
STAMP_PARAMETERS = tuple(name.lstrip("_") for name, _type in STAMP_COLUMNS)
STAMP_SQL = ", ".join(f"${name}" for name in STAMP_PARAMETERS)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def raw_table(table: SourceTable) -> str:
    return f"{RAW_SCHEMA}.{quote_ident(table.name)}"


def landed_columns(table: SourceTable, value: Callable[[Column], str],
                   keyed_hash: pii.KeyedHash
                   ) -> tuple[list[tuple[Column, str]], dict[str, bytes]]:
    """Each column of ``raw.<table>`` (declared ones, in order) with the SQL of its value
    (``value``: a source column's SQL): a PII column hashed
    (:func:`foundation.pii.hash_sql`) or left out, as :meth:`Column.landed` declares,
    every other column as it is; and the named parameters that SQL binds (the key's pads
    when a column is hashed, else none: DuckDB refuses a parameter its statement does not
    use)."""
    landed = []
    parameters: dict[str, bytes] = {}
    for column in table.columns:
        raw = column.landed()
        if raw is None:
            continue
        sql = value(column)
        if column.pii == "hash":
            sql = pii.hash_sql(sql)
            parameters = keyed_hash.parameters()
        landed.append((raw, sql))
    return landed, parameters


def stamp_parameters(stamps: Sequence[Any]) -> dict[str, Any]:
    """``stamps`` (the values of :data:`loader.plan.STAMP_COLUMNS`, in order) as the named
    parameters :data:`STAMP_SQL` reads."""
    return dict(zip(STAMP_PARAMETERS, stamps, strict=True))


def create_raw_table(con: duckdb.DuckDBPyConnection, table: SourceTable,
                      extras: Sequence[str] = ()) -> None:
    """Declared columns as landed (PII masked), then the stamps, then any extra source
    columns as VARCHAR."""
    columns = [f"{quote_ident(c.name)} {c.duckdb_type}" for c in table.raw_columns]
    columns += [f"{name} {type_}" for name, type_ in STAMP_COLUMNS]
    columns += [f"{quote_ident(name)} VARCHAR" for name in extras]
    con.execute(f"create table {raw_table(table)} ({', '.join(columns)})")


def load_csv(
    con: duckdb.DuckDBPyConnection, plan: CsvPlan, stamps: list[Any],
    keyed_hash: pii.KeyedHash,
) -> tuple[int, list[Reject]]:
    table = plan.table
    create_raw_table(con, table, [name for _, name in plan.extras])
    columns_struct = "{" + ", ".join(
        f"{sql_str(name)}: {sql_str(type_)}"
        for name, type_ in zip(plan.file_columns, plan.file_types, strict=True)
    ) + "}"
    landed, masking = landed_columns(table, lambda column: quote_ident(column.name),
                                     keyed_hash)
    select_list = ", ".join(sql for _, sql in landed)
    extra_list = "".join(f", {quote_ident(synthetic)}" for synthetic, _ in plan.extras)
    con.execute("drop table if exists _load_rejects")
    con.execute("drop table if exists _load_scans")
    inserted = con.execute(
        f"""
        insert into {raw_table(table)}
        select {select_list}, {STAMP_SQL}{extra_list}
        from read_csv(
            $location,
            header = true,
            delim = ',',
            quote = '"',
            escape = '"',
            encoding = 'utf-8',
            auto_detect = false,
            columns = {columns_struct},
            store_rejects = true,
            rejects_table = '_load_rejects',
            rejects_scan = '_load_scans'
        )
        """,  # noqa: S608
        {**stamp_parameters(stamps), "location": plan.source.location, **masking},
    ).fetchone()
    rows_loaded = int(inserted[0]) if inserted else 0
    return rows_loaded, csv_rejects(con, plan)


def valid_value_sql(column: Column, ref: str) -> str:
    """SQL predicate: the VARCHAR ``ref`` (read from SQLite) holds a valid value."""
    if column.type in ("bigint", "integer"):
        return (f"({ref} is null or (regexp_full_match({ref}, '-?[0-9]+') "
                f"and try_cast({ref} as {column.duckdb_type}) is not null))")
    if column.type == "timestamp":
        return f"({ref} is null or try_cast({ref} as timestamptz) is not null)"
    if column.type in ("text", "json"):
        return "true"
    if column.type == "boolean":
        # SQLite stores booleans as 0/1; DuckDB's cast would also take 'yes', 't', ...
        return f"({ref} is null or lower({ref}) in ('0', '1', 'true', 'false'))"
    return f"({ref} is null or try_cast({ref} as {column.duckdb_type}) is not null)"


def typed_value_sql(column: Column, ref: str) -> str:
    if column.type == "timestamp":
        # offsets are honoured (the session time zone is UTC), result is naive UTC
        return f"timezone('UTC', cast({ref} as timestamptz))"
    if column.type in ("text", "json"):
        return ref
    return f"cast({ref} as {column.duckdb_type})"


def load_sqlite_table(
    con: duckdb.DuckDBPyConnection, table: SourceTable, stamps: list[Any],
    keyed_hash: pii.KeyedHash, extras: Sequence[str] = (), *, source_rows: int,
) -> tuple[int, list[Reject]]:
    """Insert the valid rows of ``table`` (``source_rows`` in SQLite,
    :class:`loader.plan.SqlitePlan`); the rows and their rejects."""
    create_raw_table(con, table, extras)
    source = f"_load_app_db.{quote_ident(table.name)}"
    # the rows as raw will hold them, PII already masked: nothing below (the checks, the
    # insert, a rejected row's record) ever sees a plaintext value. A query, not a table:
    # the insert reads SQLite once (a temporary copy cost a third of the time at 1,000,000
    # users); only a table with rejected rows is read a second time, to list them.
    raw_columns = table.raw_columns
    landed, masking = landed_columns(table, lambda c: quote_ident(c.name), keyed_hash)
    masked = [f"{sql} as {quote_ident(raw.name)}" for raw, sql in landed]
    # extra columns travel under synthetic names (already text: sqlite_all_varchar)
    extra_select = "".join(f", {quote_ident(name)} as _extra_{i}"
                           for i, name in enumerate(extras, start=1))
    extra_list = "".join(f", _extra_{i}" for i in range(1, len(extras) + 1))
    rows = f"(select rowid as _line, {', '.join(masked)}{extra_select} from {source})"  # noqa: S608
    checks = [
        (column, valid_value_sql(column, quote_ident(column.name))) for column in raw_columns
    ]
    all_valid = " and ".join(check for _, check in checks) or "true"
    typed = ", ".join(typed_value_sql(c, quote_ident(c.name)) for c in raw_columns)
    columns = ", ".join(quote_ident(c.name) for c in raw_columns)
    inserted = con.execute(
        f"insert into {raw_table(table)} select {typed}, {STAMP_SQL}{extra_list} "  # noqa: S608
        f"from {rows} where {all_valid}",
        {**stamp_parameters(stamps), **masking},
    ).fetchone()
    rows_loaded = int(inserted[0]) if inserted else 0
    failing = [(column, check) for column, check in checks if check != "true"]
    rejects: list[Reject] = []
    # a table whose every row was inserted has nothing to reject: no second read of it
    if failing and rows_loaded < source_rows:
        bad_column = " ".join(
            f"when not {check} then {sql_str(column.name)}" for column, check in failing
        )
        bad_value = " ".join(
            f"when not {check} then {quote_ident(column.name)}" for column, check in failing
        )
        bad_rows = con.execute(
            f"""
            select _line, bad_column, bad_value,
                   left(to_json(struct_pack({columns}))::varchar, {MAX_REJECT_TEXT})
            from (
                select *, case {bad_column} end as bad_column,
                       case {bad_value} end as bad_value
                from {rows}
                where not ({all_valid})
            )
            order by _line
            """,  # noqa: S608
            masking,
        ).fetchall()
        declared = {column.name: column.duckdb_type for column in raw_columns}
        for line, column_name, value, raw_text in bad_rows:
            rejects.append(Reject(int(line), column_name, "CAST",
                                   f"could not convert {value!r} to {declared[column_name]}",
                                   raw_text))
    return rows_loaded, rejects
