"""The dashboards' only door to data: snapshot resolution, read-only connections, SQL.

Pages never build SQL or open files themselves. Every query is parameterised and cached
per snapshot file name: a snapshot never changes once published, so a cache keyed by it
can never serve stale data, and a new publish (a new name) is picked up on the next
rerun without restarting the app. Connections are opened read-only per query and closed
at once, so nothing is held open across a pipeline's publish.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import duckdb

_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from pipeline import manifest as manifest_io  # noqa: E402
from pipeline.paths import HomePaths, default_home, snapshot_file_name  # noqa: E402
from pipeline.pointer import PointerError, read_pointer  # noqa: E402


@dataclass(frozen=True)
class SnapshotChoice:
    """Which snapshot the app shows, and why (a fallback is explained to the user)."""

    run_id: str | None
    path: Path | None
    note: str | None = None


def home_paths() -> HomePaths:
    return HomePaths(default_home())


def resolve_latest(paths: HomePaths | None = None) -> SnapshotChoice:
    """The pointer's snapshot; else the newest successful manifest's, saying so."""
    paths = paths or home_paths()
    try:
        run_id = read_pointer(paths)
        problem = None if run_id else "no pointer yet"
    except PointerError as exc:
        run_id, problem = None, str(exc)
    if run_id:
        return SnapshotChoice(run_id, paths.duckdb_dir / snapshot_file_name(run_id))
    fallback = manifest_io.latest_successful(paths)
    if fallback is None:
        return SnapshotChoice(None, None, None if problem == "no pointer yet" else problem)
    run_id = fallback["run_id"]
    note = f"Pointer problem ({problem}); showing the newest successful run {run_id}."
    return SnapshotChoice(run_id, paths.duckdb_dir / snapshot_file_name(run_id), note)


def successful_runs(paths: HomePaths | None = None) -> list[str]:
    """Run ids with a published snapshot on disk, newest first."""
    paths = paths or home_paths()
    runs = [doc["run_id"] for doc in manifest_io.load_all(paths)
            if doc.get("status") == "success"
            and (paths.duckdb_dir / snapshot_file_name(doc["run_id"])).is_file()]
    return list(reversed(runs))


def run_manifests(paths: HomePaths | None = None) -> list[dict[str, Any]]:
    return manifest_io.load_all(paths or home_paths())


@contextlib.contextmanager
def connect_read_only(snapshot: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        yield con
    finally:
        con.close()


@st.cache_data(max_entries=256, show_spinner=False)
def query(snapshot: str, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """Run one parameterised query against a snapshot file (cached per file + SQL)."""
    with connect_read_only(Path(snapshot)) as con:
        return con.execute(sql, list(params)).df()


def headline_users(snapshot: Path) -> int:
    frame = query(str(snapshot), "select count(*) as users from marts.dim_users")
    return int(frame.iloc[0, 0])
