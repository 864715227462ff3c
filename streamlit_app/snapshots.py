"""The dashboards' snapshot resolution and read-only querying (one part of the data layer).

Which snapshot the app shows (the pointer's, else the newest successful run's, saying
so), read-only connections shared per script rerun, and parameterised queries cached
per snapshot file name: a snapshot never changes once published, so a cache keyed by it
can never serve stale data, and a new publish (a new name) is picked up on the next
rerun without restarting the app. Connections are opened read-only and closed at the
end of the rerun, so nothing is held open across a pipeline's publish.

A query is declared once, by its fixed SQL: ``@sql_query(SQL)`` on a function that turns
its arguments into the SQL's parameters (``@reads(SQL, ...)`` on one with logic of its own).
The tables a query reads are the ``marts.*`` / ``ops.*`` names in its SQL; ``READS`` maps
each function to them. ``make contracts`` (``codegen/exposures.py``) writes
``dbt_carton_caps/models/exposures.yml`` from the same SQL and the functions each page
calls, and ``data_access`` re-exports every public name of the data layer, so a new query
is one decorated function.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

import duckdb
from foundation.paths import HomePaths, default_home, snapshot_file_name
from pipeline.records import integrity
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import PointerError, read_pointer
from pipeline.storage.errors import StorageError
from streamlit_app import archive_serving

_F = TypeVar("_F", bound=Callable[..., Any])
_P = ParamSpec("_P")
#: the parameters of a query's SQL, in order
Params = tuple[Any, ...]

#: data-access function name -> the ``schema.table`` names its SQL reads
READS: dict[str, frozenset[str]] = {}
#: a table a dashboard query may read: the marts and the pipeline's ops tables
TABLE_IN_SQL = re.compile(r"\b(?:marts|ops)\.[a-z_][a-z0-9_]*\b")


def tables_in(*sqls: str) -> frozenset[str]:
    """The ``schema.table`` names fixed SQL reads: a table is declared once, in the SQL."""
    return frozenset(table for sql in sqls for table in TABLE_IN_SQL.findall(sql))


def reads(*sqls: str) -> Callable[[_F], _F]:
    """Register the tables a data-access function with logic of its own reads: those its
    SQL texts name."""

    def register(function: _F) -> _F:
        READS[function.__name__] = tables_in(*sqls)
        return function

    return register


def sql_query(sql: str, finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None
              ) -> Callable[[Callable[_P, Params]], Callable[Concatenate[Path, _P], pd.DataFrame]]:
    """A data-access function that runs one fixed, parameterised SQL on a snapshot.

    The decorated function turns its arguments into the SQL's parameters; the result takes
    the snapshot first, then those arguments, and returns the frame (shaped by ``finish``
    when given). The tables it reads are registered in ``READS`` from the SQL.
    """

    def register(parameters: Callable[_P, Params]) -> Callable[Concatenate[Path, _P],
                                                                   pd.DataFrame]:
        @functools.wraps(parameters)
        def run(snapshot: Path, /, *args: _P.args, **kwargs: _P.kwargs) -> pd.DataFrame:
            frame = read_table(snapshot, sql, tuple(parameters(*args, **kwargs)))
            return frame if finish is None else finish(frame)

        READS[parameters.__name__] = tables_in(sql)
        return run

    return register


def exports(namespace: dict[str, Any]) -> list[str]:
    """The public names a data-layer module defines itself (not those it imports): its
    ``__all__``, which ``data_access`` re-exports."""
    module = namespace["__name__"]
    return sorted(name for name, value in namespace.items()
                  if not name.startswith("_") and not isinstance(value, types.ModuleType)
                  and getattr(value, "__module__", module) == module)


class DataUnavailable(LookupError):
    """A table the page needs is not in this snapshot (e.g. built by an older pipeline)."""


#: characters of the underlying error kept in a SnapshotUnreadable message
REASON_CHARS = 160


class SnapshotUnreadable(RuntimeError):
    """A snapshot vanished or cannot be read as a DuckDB database (deleted or corrupt after
    it was resolved): pages show an error naming it instead of a traceback."""

    def __init__(self, snapshot: Path, cause: BaseException) -> None:
        self.snapshot = snapshot
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        if len(reason) > REASON_CHARS:
            reason = reason[:REASON_CHARS] + "…"
        if isinstance(cause, integrity.UnsafeSnapshotError):
            what = f"Snapshot {cause}."
        elif isinstance(cause, StorageError):  # the archive's copy was refused: say why
            what = f"Snapshot {snapshot.name}: the archive cannot serve it ({cause})."
        elif snapshot.exists():
            what = f"Snapshot {snapshot.name} cannot be read ({type(cause).__name__}: {reason})."
        else:
            what = f"Snapshot {snapshot.name} was deleted while the page was reading it."
        super().__init__(f"{what} Pick another run in the sidebar, or rerun the pipeline.")


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class SnapshotChoice:
    """Which snapshot the app shows, and why (a fallback is explained to the user).

    ``archive`` names the archive when the app serves from one (``CARTON_CAPS_ARCHIVE``):
    a ``note`` then explains an archive problem rather than a pointer problem.
    """

    run_id: str | None
    path: Path | None
    note: str | None = None
    archive: str | None = None


def home_paths() -> HomePaths:
    """The home the dashboards read: ``CARTON_CAPS_HOME`` (or the repository), or, when
    serving from an archive, the verified cache laid out as a home."""
    return archive_serving.served_home() or HomePaths(default_home())


def snapshot_path(run_id: str, paths: HomePaths | None = None, *,
                  fetch: bool = True) -> Path:
    """Where run ``run_id``'s snapshot is read from. Serving from an archive, it is the
    verified cached copy, downloaded the first time it is needed (``fetch=False``: only
    if it is cached already); SnapshotUnreadable says why when the archive's copy is
    refused."""
    paths = paths or home_paths()
    path = paths.duckdb_dir / snapshot_file_name(run_id)
    if not fetch or archive_serving.archived_runs(paths) is None:
        return path
    try:
        return archive_serving.fetch_snapshot(run_id)
    except StorageError as exc:
        raise SnapshotUnreadable(path, exc) from exc


def servable(paths: HomePaths, document: dict[str, Any]) -> bool:
    """Whether a successful run's snapshot can be shown: on disk in a home; archived,
    when serving from an archive (it is fetched when picked)."""
    archived = archive_serving.archived_runs(paths)
    if archived is not None:
        return document["run_id"] in archived
    return manifest_io.is_published(paths, document)


def resolve_latest(paths: HomePaths | None = None) -> SnapshotChoice:
    """The pointer's snapshot; else the newest successful manifest's, saying so.

    Serving from an archive, the archive is mirrored first (at most once a minute): the
    pointer is then the archive's ``LATEST``, verified; when the archive cannot be read or
    its copy is refused, the newest verified copy already in the cache is shown with the
    reason, or the reason alone when there is none.
    """
    archive = None
    problem_of_archive = None
    if paths is None:
        current = archive_serving.view()
        if current is not None:
            archive, problem_of_archive = current.uri, current.problem
    paths = paths or home_paths()
    try:
        run_id = read_pointer(paths)
        problem = None if run_id else "no pointer yet"
    except PointerError as exc:
        run_id, problem = None, str(exc)
    if problem_of_archive is not None:
        if run_id is None:
            fallback = manifest_io.latest_successful(paths)
            run_id = fallback["run_id"] if fallback else None
        if run_id is None:
            return SnapshotChoice(None, None, problem_of_archive, archive)
        note = (f"Archive problem ({problem_of_archive}); showing run {run_id}, the newest "
                "copy verified earlier.")
        return SnapshotChoice(run_id, paths.duckdb_dir / snapshot_file_name(run_id), note,
                              archive)
    if run_id:
        return SnapshotChoice(run_id, paths.duckdb_dir / snapshot_file_name(run_id),
                              archive=archive)
    fallback = manifest_io.latest_successful(paths)
    if fallback is None:
        return SnapshotChoice(None, None, None if problem == "no pointer yet" else problem,
                              archive)
    run_id = fallback["run_id"]
    note = f"Pointer problem ({problem}); showing the newest successful run {run_id}."
    return SnapshotChoice(run_id, paths.duckdb_dir / snapshot_file_name(run_id), note,
                          archive)


# --------------------------------------------------------------------------- querying


#: DuckDB threads per read connection: dashboard queries read small aggregate marts
READ_THREADS = 2
_scope = threading.local()


def _open(snapshot: Path) -> duckdb.DuckDBPyConnection:
    """Read-only connection; a snapshot name that is a symbolic link is never followed."""
    integrity.checked_snapshot(snapshot.parent, snapshot.name)
    return duckdb.connect(str(snapshot), read_only=True, config={"threads": READ_THREADS})


@contextlib.contextmanager
def render_scope() -> Iterator[None]:
    """Share one read-only connection per snapshot for one script run, then close it.

    app.py wraps each rerun in this scope, so a page's queries reuse one connection
    instead of paying a connect per query, and no connection outlives the rerun (a
    pipeline publishing meanwhile is never blocked and the next rerun sees it).
    """
    previous = getattr(_scope, "connections", None)
    _scope.connections = {}
    try:
        yield
    finally:
        connections, _scope.connections = _scope.connections, previous
        for con in connections.values():
            con.close()


@contextlib.contextmanager
def connect_read_only(snapshot: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection: the rerun's shared one inside ``render_scope``, else a new one
    closed on exit."""
    connections = getattr(_scope, "connections", None)
    if connections is None:
        con = _open(snapshot)
        try:
            yield con
        finally:
            con.close()
        return
    key = str(snapshot)
    if key not in connections:
        connections[key] = _open(snapshot)
    yield connections[key]


@st.cache_data(max_entries=512, show_spinner=False)
def query(snapshot: str, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """Run one parameterised query against a snapshot file (cached per file + SQL)."""
    with connect_read_only(Path(snapshot)) as con:
        return con.execute(sql, list(params)).df()


@st.cache_data(max_entries=64, show_spinner=False)
def snapshot_tables(snapshot: str) -> frozenset[str]:
    """``schema.table`` of every table and view in a snapshot."""
    with connect_read_only(Path(snapshot)) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    return frozenset(row[0] for row in rows)


#: errors reading a snapshot file raises once it was resolved (deleted, truncated, garbage)
READ_ERRORS: tuple[type[BaseException], ...] = (duckdb.Error, OSError,
                                                integrity.UnsafeSnapshotError)


def check_snapshot(snapshot: Path) -> frozenset[str]:
    """The snapshot's tables; ``SnapshotUnreadable`` if it cannot be opened and listed."""
    try:
        return snapshot_tables(str(snapshot))
    except READ_ERRORS as exc:
        raise SnapshotUnreadable(snapshot, exc) from exc


def missing_tables(snapshot: Path, sql: str) -> list[str]:
    """The tables ``sql`` reads that the snapshot does not have."""
    present = check_snapshot(snapshot)
    return sorted(table for table in tables_in(sql) if table not in present)


def read_table(snapshot: Path, sql: str, params: Params = ()) -> pd.DataFrame:
    """Run fixed SQL on a snapshot: ``DataUnavailable`` if the snapshot lacks a table it
    reads, ``SnapshotUnreadable`` if the file cannot be read."""
    missing = missing_tables(snapshot, sql)
    if missing:
        raise DataUnavailable(
            f"{missing[0]} is not in snapshot {snapshot.name} (built before that table existed)."
        )
    try:
        return query(str(snapshot), sql, params)
    except READ_ERRORS as exc:
        raise SnapshotUnreadable(snapshot, exc) from exc


def between(start: date | None, end: date | None) -> tuple[date, date]:
    """A date filter's bounds; an open end is the widest date."""
    return (start or date(1900, 1, 1), end or date(9999, 12, 31))


__all__ = exports(globals())
