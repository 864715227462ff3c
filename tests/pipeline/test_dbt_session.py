"""dbt's worker, its cached parse and its memory limit: per-run isolation kept, parse reused."""

from __future__ import annotations

import logging
import re
import shutil
import time
from datetime import date
from pathlib import Path

import pytest

import duckdb
from foundation.paths import DBT_DB_LINK_NAME, DBT_PROJECT_DIR
from pipeline import run_pipeline
from pipeline.lifecycle.duckdb_settings import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_VARIABLE
from pipeline.transform import session as dbt_session
from pipeline.transform.commands import run_dbt
from pipeline.transform.invocation import DbtInvocation, dbt_environment
from pipeline.transform.parse_cache import PARSE_FILE_NAME, ParseCache, cache_key, profile_env_vars
from pipeline.transform.worker import IDLE_IMPORTS_LINE
from tests.conftest import TinyRun

COPY_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages")


def test_the_parse_key_is_stable_and_changes_with_any_project_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=COPY_IGNORE)
    key = cache_key(project, {})
    assert cache_key(project, {}) == key
    macro = project / "macros" / "as_of.sql"
    macro.write_text(macro.read_text() + "\n{# changed #}\n")
    assert cache_key(project, {}) != key


def test_the_parse_key_follows_the_profiles_variables_not_the_runs_values() -> None:
    key = cache_key(DBT_PROJECT_DIR, {})
    assert {"CARTON_CAPS_DB_PATH", MEMORY_LIMIT_VARIABLE} <= set(profile_env_vars(DBT_PROJECT_DIR))
    assert cache_key(DBT_PROJECT_DIR, {"CARTON_CAPS_AS_OF": "2020-01-01"}) == key
    assert cache_key(DBT_PROJECT_DIR, {MEMORY_LIMIT_VARIABLE: "2GB"}) != key


def test_a_parse_is_stored_once_and_restored_into_another_target(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache", "k")
    first, second = tmp_path / "run1" / "target", tmp_path / "run2" / "target"
    assert not cache.restore(first)
    (first / PARSE_FILE_NAME).write_bytes(b"parse-1")
    assert cache.store(first)
    (first / PARSE_FILE_NAME).write_bytes(b"parse-2")
    assert not cache.store(first)  # a key holds one parse
    assert cache.restore(second)
    assert (second / PARSE_FILE_NAME).read_bytes() == b"parse-1"


def test_the_memory_limit_default_is_stated_once_by_the_pipeline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile reads the variable with no default of its own; the pipeline always
    passes it, its default when the environment has none."""
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert f"env_var('{MEMORY_LIMIT_VARIABLE}')" in profile
    assert DEFAULT_MEMORY_LIMIT not in profile
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    db_path = tmp_path / "x.duckdb"
    env = dbt_environment(DbtInvocation(db_path=db_path, work_dir=tmp_path,
                                        as_of="2026-11-01"), str(db_path))
    assert env[MEMORY_LIMIT_VARIABLE] == DEFAULT_MEMORY_LIMIT


def _dbt_log(home: Path, run_id: str) -> str:
    return (home / "logs" / "dbt" / run_id / "logs" / "dbt.log").read_text()


def test_dbts_file_log_keeps_the_nodes_at_info(tiny_run: TinyRun) -> None:
    """Every query's SQL at debug was about a tenth of a small build (COMMAND_FLAGS): the
    log keeps each node's start and result, not the debug lines of its threads."""
    log = _dbt_log(tiny_run.home, tiny_run.run_id)
    assert re.search(r"\[info \] \[Thread-\d+ \(\]: \d+ of \d+ OK created", log)
    assert not re.search(r"\[debug\] \[Thread-", log)


@pytest.mark.pipeline_run
def test_a_second_run_reuses_the_parse_with_its_own_as_of_and_keeps_nothing_linked(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    assert "Unable to do partial parsing because saved manifest not found" in _dbt_log(
        tiny_run.home, tiny_run.run_id)
    home = tmp_path / "home"
    shutil.copytree(tiny_run.home, home, symlinks=True)
    code = run_pipeline.main(["--home", str(home), "--run-id", "second", "--seed", "7",
                              "--users", "300", "--as-of", "2026-10-15", "--quiet"])
    assert code == 0
    log = _dbt_log(home, "second")
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled, no changes found, skipping parsing" in log
    snapshot = home / "duckdb" / "carton_caps_second.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as con:
        as_of = con.execute(
            "select distinct as_of_date from marts.mart_redemption_forecast_accuracy").fetchall()
    assert as_of == [(date(2026, 10, 15),)]
    assert sorted(p.name for p in (home / "logs" / "dbt" / "second").iterdir()) == [
        "logs", "target"]


@pytest.mark.pipeline_run
def test_the_memory_limit_reaches_dbts_duckdb(
        tiny_run: TinyRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    db_path = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_run.snapshot, db_path)
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "321MB")
    with duckdb.connect(config={"memory_limit": "321MB"}) as con:
        expected = con.execute("select current_setting('memory_limit')").fetchone()[0]
    invocation = DbtInvocation(db_path=db_path, work_dir=tmp_path / "dbt" / "r",
                                          as_of="2026-11-01")
    with caplog.at_level(logging.DEBUG, logger="pipeline.transform.commands"):
        try:
            code = run_dbt(
                ["show", "--inline", "select current_setting('memory_limit') as lim"],
                invocation)
        finally:
            dbt_session.close_session(invocation)
    assert code == 0
    assert expected in caplog.text
    assert not (invocation.work_dir / DBT_DB_LINK_NAME).exists()


def test_a_crashed_worker_fails_the_command_and_the_next_one_starts_afresh(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    db_path = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_run.snapshot, db_path)
    invocation = DbtInvocation(db_path=db_path, work_dir=tmp_path / "dbt" / "r",
                                          as_of="2026-11-01")
    session = dbt_session.session(invocation)
    try:
        assert session.run(["parse"]) == 0
        assert session.process is not None
        session.process.kill()
        session.process.wait()
        assert session.run(["parse"]) != 0
        assert session.process is None
        assert session.run(["parse"]) == 0
    finally:
        dbt_session.close_session(invocation)


def _wait_for_parse(invocation: DbtInvocation) -> None:
    """The worker's parse writes perf_info.json when it ends."""
    deadline = time.monotonic() + 300
    while not (invocation.target_path / "perf_info.json").exists():
        assert time.monotonic() < deadline, "the worker did not parse"
        time.sleep(0.2)


@pytest.mark.pipeline_run
def test_a_worker_started_before_the_snapshot_exists_parses_then_works_on_it(
        tiny_run: TinyRun, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db_path = tmp_path / "duckdb" / "snapshot.duckdb"
    db_path.parent.mkdir()
    invocation = DbtInvocation(db_path=db_path, work_dir=tmp_path / "dbt" / "r",
                                          as_of="2026-11-01")
    link = invocation.work_dir / DBT_DB_LINK_NAME
    dbt_session.start_session(invocation)
    try:
        _wait_for_parse(invocation)
        # parsed without a database: nothing was opened or created under the link's name
        assert sorted(p.name for p in invocation.work_dir.iterdir()) == ["logs", "target"]
        shutil.copyfile(tiny_run.snapshot, db_path)  # what the loader does meanwhile
        with duckdb.connect(str(db_path), read_only=True) as con:
            users = con.execute("select count(*) from raw.users").fetchone()[0]
        with caplog.at_level(logging.DEBUG, logger="pipeline.transform.commands"):
            code = run_dbt(
                ["show", "--inline", "select count(*) * 7 as n from raw.users"], invocation)
        assert code == 0
        assert link.stat().st_ino == db_path.stat().st_ino
        assert f"| {users * 7} |" in caplog.text
    finally:
        dbt_session.close_session(invocation)
    assert not link.exists()


def _worker_on_a_copy(tiny_run: TinyRun, tmp_path: Path, *, idle_imports: bool = False,
                      ) -> tuple[DbtInvocation, dbt_session.DbtSession]:
    """A worker started (parsing at once) for a copy of the tiny run's snapshot."""
    db_path = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_run.snapshot, db_path)
    invocation = DbtInvocation(db_path=db_path, work_dir=tmp_path / "dbt" / "r",
                               as_of="2026-11-01")
    dbt_session.start_session(invocation, idle_imports=idle_imports)
    return invocation, dbt_session.session(invocation)


@pytest.mark.pipeline_run
@pytest.mark.timeout(600)  # a worker that never says what it imported fails, not hangs
def test_a_waiting_worker_imports_the_python_models_libraries_then_serves_commands(
        tiny_run: TinyRun, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    invocation, session = _worker_on_a_copy(tiny_run, tmp_path, idle_imports=True)
    try:
        assert session.process is not None and session.process.stdout is not None
        # no command is sent, so the worker parses, then imports every module on its list
        for line in session.process.stdout:
            if line.startswith(IDLE_IMPORTS_LINE):
                break
        else:
            raise AssertionError("the worker ended without saying what it imported")
        imported = line[len(IDLE_IMPORTS_LINE):].rsplit(" (", 1)[0].split(", ")
        assert "statsmodels.tsa.exponential_smoothing.ets" in imported
        assert "pipeline.checks.series_anomalies" in imported
        with caplog.at_level(logging.DEBUG, logger="pipeline.transform.commands"):
            assert session.run(["show", "--inline", "select 41 + 1 as n"]) == 0
        assert "| 42 |" in caplog.text
    finally:
        dbt_session.close_session(invocation)


def test_a_refused_hard_link_restarts_the_worker_on_the_snapshots_own_path(
        tiny_run: TinyRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    invocation, session = _worker_on_a_copy(tiny_run, tmp_path)
    first = session.process
    assert first is not None and session.parse_cache is not None

    def refuse(_link: Path, _target: Path) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(Path, "hardlink_to", refuse)
    try:
        with caplog.at_level(logging.DEBUG, logger="pipeline.transform.commands"):
            code = session.run(["show", "--inline", "select 41 + 1 as n"])
        assert code == 0
        assert "no hard link to" in caplog.text and "| 42 |" in caplog.text
        assert first.poll() is not None and session.process is not first
        assert session.linked is False and session.parse_cache is None
    finally:
        dbt_session.close_session(invocation)
    assert not (invocation.work_dir / DBT_DB_LINK_NAME).exists()
