"""Every writer of a run gets DuckDB's memory limit and a spill folder of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import duckdb
import loader
from pipeline.lifecycle import duckdb_settings
from tests.conftest import TinyRun


def test_the_defaults_bound_memory_and_spill_beside_the_snapshot(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(duckdb_settings.MEMORY_LIMIT_VARIABLE, raising=False)
    monkeypatch.delenv(duckdb_settings.TEMP_DIR_VARIABLE, raising=False)
    db = tmp_path / "carton_caps_r.duckdb.building"
    assert duckdb_settings.connect_config(db, "r") == {
        "memory_limit": duckdb_settings.DEFAULT_MEMORY_LIMIT,
        "temp_directory": f"{db}.tmp"}


def test_a_configured_spill_folder_gets_one_subfolder_per_run(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(duckdb_settings.MEMORY_LIMIT_VARIABLE, "3GB")
    monkeypatch.setenv(duckdb_settings.TEMP_DIR_VARIABLE, str(tmp_path / "spill"))
    config = duckdb_settings.connect_config(tmp_path / "x.duckdb", "run_a")
    assert config == {"memory_limit": "3GB", "temp_directory": str(tmp_path / "spill" / "run_a")}
    link = tmp_path / "dbt" / "carton_caps.duckdb"
    link.parent.mkdir()
    duckdb_settings.link_spill_dir(link, "run_a")
    assert (tmp_path / "dbt" / "carton_caps.duckdb.tmp").resolve() == tmp_path / "spill" / "run_a"


def test_the_loader_opens_duckdb_with_the_memory_limit_given(
        tiny_run: TinyRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    connect = duckdb.connect

    def spy(*args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        con = connect(*args, **kwargs)
        seen.append(con.execute("select current_setting('memory_limit')").fetchone()[0])
        return con

    monkeypatch.setattr(duckdb, "connect", spy)
    db = tmp_path / "loaded.duckdb"
    loader.load_raw(tiny_run.home / "data" / tiny_run.run_id, db, "r", pii_key="test-key",
                    duckdb_config={"memory_limit": "321MB", "temp_directory": f"{db}.tmp"})
    assert seen == ["306.1 MiB"]
