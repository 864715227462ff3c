"""The column lineage of a dbt model, read from its compiled SQL with sqlglot.

Each output column of the model's select is followed through CTEs, subqueries, joins,
set operations, window functions and ``select *`` down to the columns of real relations
it is computed from: the columns its expression reads (OpenLineage's DIRECT inputs), not
those that only filter, join or group its rows. The run's OpenLineage events carry this
as each model's column-lineage facet (pipeline/evidence/openlineage.py), in place of the
integration's, which names CTEs as if they were tables.

A column is left out, never guessed, when the SQL does not say where all of it comes
from: a relation that is not among the model's inputs or whose columns are unknown, a
column the relation does not have, a star that could not be expanded (its relation's
columns unknown), a reference to an outer query (a correlated subquery), or a table
function other than a number series. A column computed from constants only (a literal,
``count(*)``, a number series) reads no column and is left out too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, find_all_in_scope

#: (schema, table)
Relation = tuple[str, str]
#: (schema, table, column), as the snapshot spells them
Leaf = tuple[str, str, str]
DIALECT = "duckdb"


class _Unresolved(Exception):
    """A column whose inputs the SQL does not name (see the module's docstring)."""


def read_lineage(sql: str, columns: Mapping[Relation, Sequence[str]]
                 ) -> dict[str, frozenset[Leaf]]:
    """Each output column of ``sql`` (one select statement) and the relations' columns it
    is computed from. ``columns`` are the relations the SQL may read and their columns;
    any other relation is unknown. Columns that read none, or cannot be resolved, are
    absent. Raises ``sqlglot.errors.SqlglotError`` for SQL sqlglot cannot read."""
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for (db, table), names in columns.items():
        schema.setdefault(db, {})[table] = dict.fromkeys(names, "unknown")
    parsed = sqlglot.parse_one(sql, dialect=DIALECT)
    root = build_scope(qualify(parsed, dialect=DIALECT, schema=schema,
                               validate_qualify_columns=False, quote_identifiers=False))
    if root is None:
        return {}
    reader = _Reader(columns)
    lineage: dict[str, frozenset[Leaf]] = {}
    for name in root.expression.named_selects:
        try:
            leaves = reader.column(root, name)
        except _Unresolved:
            continue
        if leaves:
            lineage[name] = leaves
    return lineage


class _Reader:
    """Resolves columns of a query's scopes to their leaves, each scope's column once
    (a CTE read by many columns is walked a single time)."""

    def __init__(self, columns: Mapping[Relation, Sequence[str]]) -> None:
        # sqlglot folds DuckDB's identifiers to lower case; the leaves keep the real names
        self._relations = {(db.lower(), table.lower()): (db, table, {c.lower(): c for c in names})
                           for (db, table), names in columns.items()}
        self._memo: dict[tuple[int, str | int], frozenset[Leaf] | None] = {}

    def column(self, scope: Scope, name: str | int) -> frozenset[Leaf]:
        """The leaves of output column ``name`` (or position, in a set operation's branch)
        of ``scope``'s query."""
        key = (id(scope), name)
        if key not in self._memo:
            try:
                self._memo[key] = self._read(scope, name)
            except _Unresolved:
                self._memo[key] = None
        found = self._memo[key]
        if found is None:
            raise _Unresolved(name)
        return found

    def _read(self, scope: Scope, name: str | int) -> frozenset[Leaf]:
        query = scope.expression
        if isinstance(query, exp.Values):
            return frozenset()
        if isinstance(query, exp.SetOperation):
            # a branch's columns are matched by position, named by the first branch
            index = name if isinstance(name, int) else _position(query.named_selects, name)
            return frozenset().union(*(self.column(branch, index)
                                       for branch in scope.set_operation_scopes))
        if not isinstance(query, exp.Select):
            raise _Unresolved(name)
        return self._expression(scope, _projection(query, name))

    def _expression(self, scope: Scope, projection: exp.Expr) -> frozenset[Leaf]:
        """The leaves of the columns and scalar subqueries one projection reads."""
        leaves: set[Leaf] = set()
        for column in find_all_in_scope(projection, exp.Column):
            leaves |= self._source_column(scope, column)
        subqueries = {id(inner.expression): inner for inner in scope.subquery_scopes}
        for query in find_all_in_scope(projection, *exp.UNWRAPPED_QUERIES):
            inner = subqueries.get(id(query))
            if inner is None:
                raise _Unresolved(query.sql(dialect=DIALECT))
            for name in query.named_selects:
                leaves |= self.column(inner, name)
        return frozenset(leaves)

    def _source_column(self, scope: Scope, column: exp.Column) -> frozenset[Leaf]:
        """Where one qualified column of ``scope`` comes from: a CTE's or derived table's
        column (resolved in turn), a number series (no relation), or a relation's."""
        selected = scope.selected_sources.get(column.table)
        if selected is None:  # unqualified, or a column of an outer query
            raise _Unresolved(column.sql(dialect=DIALECT))
        source = selected[1]
        if isinstance(source, Scope):
            return self.column(source, column.name)
        if isinstance(source.this, exp.GenerateSeries):
            return frozenset()
        known = self._relations.get((source.db, source.name))
        if known is None or column.name not in known[2]:
            raise _Unresolved(column.sql(dialect=DIALECT))
        db, table, names = known
        return frozenset({(db, table, names[column.name])})


def _position(names: list[str], name: str) -> int:
    if name not in names:
        raise _Unresolved(name)
    return names.index(name)


def _projection(query: exp.Select, name: str | int) -> exp.Expr:
    """The select's projection named (or at position) ``name``; a star left unexpanded
    names no column."""
    if isinstance(name, int):
        if name >= len(query.selects):
            raise _Unresolved(name)
        return query.selects[name]
    for projection in query.selects:
        if projection.alias_or_name == name:
            return projection
    raise _Unresolved(name)
