"""Every page degrades to a clear message: no snapshot, corrupt pointer, old snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

import duckdb
from streamlit_app import ui
from tests.streamlit.conftest import PAGE_FILES, open_page, texts, write_manifest

SNAPSHOT_PAGES = [page for page in PAGE_FILES if page != "views/pipeline_ops.py"]


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
    expected = (f"Pointer problem ({home / 'duckdb' / 'LATEST_DB.txt'} is corrupt: "
                "'not a snapshot!' is not a snapshot name); showing the newest successful "
                "run old.")
    assert texts(at.sidebar.warning) == [expected]
    assert expected in texts(at.warning)
    assert at.metric[0].value == "old"


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
    assert ui.NO_SNAPSHOT in texts(at.info)
    assert len(at.error) == 1 and "Cannot read the pointer" in at.error[0].value


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
    assert [metric.value for metric in at.metric][:3] == ["1", "0", "1"]


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
    assert at.metric[0].value == "old"
