"""Every page degrades to a clear message: no snapshot, corrupt pointer, old snapshots."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import duckdb
from streamlit_app import data_access, snapshots, ui
from tests.streamlit.conftest import APP_TIMEOUT_S, PAGE_FILES, open_page, texts, write_manifest

SNAPSHOT_PAGES = [page for page in PAGE_FILES if page != "views/pipeline_ops.py"]
#: pages that query the served snapshot once it is resolved (Lineage reads the run's dbt
#: manifest, Run Comparison needs two runs)
QUERYING_PAGES = [page for page in SNAPSHOT_PAGES
                  if page not in ("views/lineage.py", "views/compare.py")]


@pytest.mark.parametrize("page", SNAPSHOT_PAGES)
def test_page_without_any_snapshot_says_so(tmp_path: Path, use_home, page: str) -> None:
    use_home(tmp_path)
    at = open_page(page)
    assert not at.exception
    assert ui.NO_SNAPSHOT in texts(at.info)


def test_pipeline_ops_without_any_run_says_so(tmp_path: Path, use_home) -> None:
    use_home(tmp_path)
    at = open_page("views/pipeline_ops.py")
    assert not at.exception
    assert texts(at.info) == ["No runs yet: no `logs/pipeline_<run_id>.json` manifest exists. "
                              "Run `make pipeline` to start one."]


def _old_snapshot_home(home: Path) -> Path:
    """A home whose only successful run has a snapshot without marts or ops tables."""
    (home / "duckdb").mkdir(parents=True)
    duckdb.connect(str(home / "duckdb" / "carton_caps_old.duckdb")).close()
    write_manifest(home, "old", steps=[{"name": "generate", "duration_s": 1.5, "status": "ok"}])
    return home


def test_corrupt_pointer_falls_back_to_newest_successful_run(tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("not a snapshot!\n")
    at = open_page()
    assert not at.exception
    expected = ("Pointer problem (duckdb/LATEST_DB.txt is corrupt: "
                "'not a snapshot!' is not a snapshot name); showing the newest successful "
                "run old.")  # relative to the home: the UI never shows where the home lives
    assert texts(at.sidebar.warning) == [expected]
    assert expected in texts(at.warning)
    assert at.code[0].value == "old"  # the served run id, in full and copyable


def test_pointer_to_missing_file_falls_back(tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_gone.duckdb\n")
    at = open_page("views/product.py")
    assert not at.exception
    assert any("names carton_caps_gone.duckdb, which does not exist" in text
               for text in texts(at.warning))


def test_corrupt_pointer_and_no_successful_run_reports_the_problem(tmp_path: Path,
                                                                   use_home) -> None:
    home = use_home(tmp_path)
    (home / "duckdb").mkdir()
    (home / "duckdb" / "LATEST_DB.txt").write_bytes(b"\xff\xfe garbage")
    at = open_page("views/finance.py")
    assert not at.exception
    assert texts(at.info) == [] and texts(at.warning) == []
    assert len(at.error) == 1 and texts(at.error)[0].startswith(
        "Cannot read the pointer: duckdb/LATEST_DB.txt is not UTF-8 text")
    assert texts(at.error)[0].endswith(f". {ui.NO_OTHER_SNAPSHOT}")


def test_pointer_to_the_deleted_only_snapshot_shows_one_message(tmp_path: Path,
                                                                use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "carton_caps_old.duckdb").unlink()
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    at = open_page()
    assert not at.exception
    assert texts(at.error) == [
        "Cannot read the pointer: duckdb/LATEST_DB.txt names carton_caps_old.duckdb, which "
        "does not exist. No other snapshot to show: run `make pipeline` to build one."]
    assert texts(at.info) == [] and texts(at.warning) == []


@pytest.mark.parametrize("page", SNAPSHOT_PAGES)
def test_snapshot_without_marts_or_ops_tables_shows_messages(tmp_path: Path, use_home,
                                                             page: str) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    at = open_page(page)
    assert not at.exception
    assert at.info, "a page on a snapshot without its tables must say what is missing"


def test_old_snapshot_names_the_missing_table(tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    at = open_page("views/data_contracts.py")
    assert texts(at.info) == ["ops.contract_results is not in snapshot carton_caps_old.duckdb "
                              "(built before that table existed)."]


def test_failed_runs_are_listed_with_step_and_error(tmp_path: Path, use_home) -> None:
    home = use_home(tmp_path)
    write_manifest(home, "bad", status="failed", failed_step="dbt_build",
                   error="dbt build failed: 1 failing node(s): x",
                   steps=[{"name": "generate", "duration_s": 2.0, "status": "ok"},
                          {"name": "dbt_build", "duration_s": 9.0, "status": "failed"}])
    (home / "logs" / "pipeline_bad.log").write_text("line 1\nline 2\n✗ dbt_build boom\n")
    at = open_page("views/pipeline_ops.py")
    assert not at.exception
    failures = [frame.value for frame in at.dataframe if "failed_step" in frame.value.columns]
    assert any(list(frame["failed_step"]) == ["dbt_build"] for frame in failures)
    assert any("✗ dbt_build boom" in code.value for code in at.code)
    shown = {metric.label: metric.value for metric in at.metric}
    assert [shown[label] for label in ("Runs", "Healthy", "Warnings", "Failed")] == [
        "1", "0", "0", "1"]


def test_home_reports_a_failed_newest_run_beside_the_published_snapshot(tmp_path: Path,
                                                                       use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    write_manifest(home, "bad", status="failed", failed_step="contracts",
                   error="contract check failed: raw.users not_null user_id",
                   started_at="2999-01-01T00:00:00.000+00:00")
    at = open_page()
    assert not at.exception
    assert texts(at.error) == [
        "The newest run bad failed at step contracts: contract check failed: raw.users "
        "not_null user_id. Showing the published snapshot of run old."]
    assert at.code[0].value == "old"  # the served run id, in full and copyable


# --------------------------------------------------------------------------- unreadable snapshots


def _garbage_snapshot_home(home: Path) -> Path:
    """A home whose pointer names an existing snapshot file holding garbage bytes."""
    (home / "duckdb").mkdir(parents=True)
    (home / "duckdb" / "carton_caps_junk.duckdb").write_bytes(b"\x00garbage, not duckdb" * 512)
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_junk.duckdb\n")
    write_manifest(home, "junk")
    return home


def _load_script(snapshot_text: str, delete_first: bool) -> None:
    from pathlib import Path

    import streamlit as st

    from streamlit_app import data_access, ui

    snapshot = Path(snapshot_text)
    if delete_first:
        snapshot.unlink()  # deleted after the page resolved it, before the query
    frame = ui.load(data_access.daily_engagement, snapshot)
    st.write("loaded" if frame is not None else "nothing")


@pytest.mark.parametrize("delete_first", [False, True], ids=["garbage", "deleted"])
def test_load_turns_an_unreadable_snapshot_into_an_error(tmp_path: Path,
                                                         delete_first: bool) -> None:
    snapshot = tmp_path / "carton_caps_gone.duckdb"
    snapshot.write_bytes(b"\xde\xad\xbe\xef" * 4096)
    at = AppTest.from_function(_load_script, args=(str(snapshot), delete_first),
                               default_timeout=APP_TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1
    message = texts(at.error)[0]
    if delete_first:
        assert message == ("Snapshot carton_caps_gone.duckdb was deleted while the page was "
                           "reading it. Pick another run in the sidebar, or rerun the pipeline.")
    else:
        assert message.startswith("Snapshot carton_caps_gone.duckdb cannot be read (")
        assert message.endswith(". Pick another run in the sidebar, or rerun the pipeline.")
    assert texts(at.markdown) == ["nothing"]


@pytest.mark.parametrize("page", SNAPSHOT_PAGES)
def test_pointer_at_a_garbage_file_shows_an_error_naming_it(tmp_path: Path, use_home,
                                                            page: str) -> None:
    use_home(_garbage_snapshot_home(tmp_path))
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1
    assert texts(at.error)[0].startswith("Snapshot carton_caps_junk.duckdb cannot be read (")


@pytest.mark.parametrize("page", QUERYING_PAGES)
def test_snapshot_corrupted_after_resolution_shows_errors_not_tracebacks(
        tiny_run, tmp_path: Path, use_home, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    """The snapshot was listed fine when the page resolved it, then went bad before the
    page's queries ran: every read reports it instead of raising."""
    tables = data_access.snapshot_tables(str(tiny_run.snapshot))
    use_home(_garbage_snapshot_home(tmp_path))
    monkeypatch.setattr(snapshots, "check_snapshot", lambda snapshot: tables)
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.error
    assert all(text.startswith("Snapshot carton_caps_junk.duckdb cannot be read (")
               for text in texts(at.error))


# --------------------------------------------------------------------------- malformed manifests


def test_home_names_a_record_with_malformed_fields_instead_of_reading_them(
        tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    write_manifest(home, "old", finished_at="yesterday-ish", duration_s="long", params="?")
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    at = open_page()
    assert not at.exception, [e.value for e in at.exception]
    # a record that breaks the manifest schema is not used field by field: it is named
    assert at.code[0].value == "old"
    assert texts(at.error)[0].startswith(
        "The record of run old cannot be used: logs/pipeline_old.json is not a valid "
        "manifest (duration_s: 'long' is not of type 'number', 'null'). ")
    assert "Duration" not in {metric.label for metric in at.metric}


# --------------------------------------------------------------------------- abandoned runs


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _killed_run(home: Path, pid: int) -> None:
    write_manifest(home, "killed", status="running", finished_at=None, duration_s=None,
                   started_at="2999-01-01T00:00:00.000+00:00", host=socket.gethostname(),
                   pid=pid, steps=[{"name": "dbt_build", "duration_s": None,
                                    "status": "running"}])


def test_home_labels_a_killed_running_run_abandoned(tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    pid = _dead_pid()
    _killed_run(home, pid)
    at = open_page()
    assert not at.exception
    assert not any("in progress" in text for text in texts(at.info))
    assert texts(at.warning) == [
        f"Run killed was abandoned at step dbt_build: its manifest still says running, but "
        f"its process (pid {pid} on {socket.gethostname()}) is gone. The next pipeline run "
        f"marks it interrupted. Showing the published snapshot of run old."]


def test_home_still_shows_a_live_run_in_progress(tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    _killed_run(home, os.getpid())
    at = open_page()
    assert not at.exception
    assert texts(at.info)[0] == ("Run killed is in progress (step dbt_build); its snapshot "
                                 "appears here once it is published.")
    assert not at.warning


def test_pipeline_ops_lists_a_killed_run_as_abandoned(tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    pid = _dead_pid()
    _killed_run(home, pid)
    at = open_page("views/pipeline_ops.py")
    assert not at.exception
    shown = {metric.label: metric.value for metric in at.metric}
    assert (shown["Runs"], shown["Running / abandoned"], shown["Failed"]) == ("2", "1", "0")
    history = next(frame.value for frame in at.dataframe if "findings" in frame.value.columns)
    assert dict(zip(history["run_id"], history["status"], strict=True)) == {
        "killed": "abandoned", "old": "healthy"}
    failures = next(frame.value for frame in at.dataframe
                    if list(frame.value.columns) == ["run_id", "status", "started_at",
                                                     "failed_step", "error"])
    assert failures[["run_id", "status", "failed_step", "error"]].to_dict("records") == [
        {"run_id": "killed", "status": "abandoned", "failed_step": "dbt_build",
         "error": f"process {pid} on {socket.gethostname()} ended without finishing the run"}]
    assert not any("abandoned" in text for text in texts(at.warning))  # the served run
    at.selectbox(key="ops_run").set_value("killed").run()
    assert any(text.startswith("Run killed was abandoned at step dbt_build")
               for text in texts(at.warning))


def test_a_truncated_record_of_the_served_run_is_named_not_taken_for_a_first_run(
        tmp_path: Path, use_home) -> None:
    home = use_home(_old_snapshot_home(tmp_path))
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    (home / "logs" / "pipeline_old.json").write_text('{"run_id": "old", "status": "succ')
    at = open_page()
    assert not at.exception
    reason = ("logs/pipeline_old.json is not valid JSON, truncated or damaged (Unterminated "
              "string starting at: line 1 column 29)")
    assert texts(at.error) == [
        f"The record of run old cannot be used: {reason}. Its health, parameters and the "
        "change since the previous run are unknown; the figures below come from its "
        "snapshot. Check it with: python pipeline/runs.py verify."]
    assert texts(at.sidebar.warning) == [
        f"1 run record(s) skipped: {reason}. Check them with: python pipeline/runs.py "
        "verify --all."]
    shown_text = " ".join(texts(at.markdown) + texts(at.caption) + texts(at.success)
                          + texts(at.warning) + texts(at.info))
    assert "Run health: UNKNOWN" not in shown_text
    assert "this is the first" not in shown_text


def test_a_run_that_died_after_publishing_reads_as_the_success_it_is() -> None:
    """Publication saves its record before letting a signal through; until the next run
    settles it, the dashboards already show it as published, not running or abandoned."""
    document = {"run_id": "published", "status": "running", "host": socket.gethostname(),
                "pid": _dead_pid(), "pointer_updated": True}
    assert data_access.run_status(document) == "success"
    assert data_access.run_status({**document, "pointer_updated": False}) == \
        data_access.ABANDONED
