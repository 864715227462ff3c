"""The app never follows a symlinked snapshot, shows home-relative paths only, and says
when the served snapshot no longer matches its manifest."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from streamlit_app import data_access
from tests.conftest import TinyRun
from tests.streamlit.conftest import copy_home, open_page, texts, write_manifest

REFUSED_EVIL = ("duckdb/LATEST_DB.txt names carton_caps_evil.duckdb, which is a symbolic "
                "link: refused, a snapshot must be a regular file in duckdb/")


def _all_texts(at) -> list[str]:
    return [*texts(at.error), *texts(at.warning), *texts(at.info), *texts(at.caption),
            *texts(at.markdown), *texts(at.json), *texts(at.code)]


def test_pointer_at_a_symlink_to_etc_passwd_is_refused(tmp_path: Path, use_home) -> None:
    home = use_home(tmp_path)
    (home / "duckdb").mkdir()
    duckdb.connect(str(home / "duckdb" / "carton_caps_old.duckdb")).close()
    write_manifest(home, "old")
    (home / "duckdb" / "carton_caps_evil.duckdb").symlink_to("/etc/passwd")
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_evil.duckdb\n")
    at = open_page()
    assert not at.exception
    assert texts(at.sidebar.warning) == [
        f"Pointer problem ({REFUSED_EVIL}); showing the newest successful run old."]
    assert at.code[0].value == "old"
    assert not any("/etc/passwd" in text for text in _all_texts(at))


def test_pointer_at_a_symlink_and_no_other_snapshot_is_one_error(tmp_path: Path,
                                                                  use_home) -> None:
    home = use_home(tmp_path)
    (home / "duckdb").mkdir()
    (home / "duckdb" / "carton_caps_evil.duckdb").symlink_to("/etc/passwd")
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_evil.duckdb\n")
    at = open_page("views/product.py")
    assert not at.exception
    assert texts(at.error) == [f"Cannot read the pointer: {REFUSED_EVIL}. No other snapshot "
                               "to show: run `make pipeline` to build one."]


def test_a_successful_run_whose_snapshot_is_a_symlink_is_never_served(
        tiny_run: TinyRun, tmp_path: Path, use_home) -> None:
    """A link to a genuine DuckDB file elsewhere: not offered, not a fallback, not opened."""
    home = use_home(tmp_path)
    (home / "duckdb").mkdir()
    (home / "duckdb" / "carton_caps_evil.duckdb").symlink_to(tiny_run.snapshot)
    write_manifest(home, "evil")
    assert data_access.successful_runs() == []
    assert data_access.resolve_latest().run_id is None
    at = open_page()
    assert not at.exception
    assert [option for option in at.sidebar.selectbox[0].options if "evil" in option] == []
    link = home / "duckdb" / "carton_caps_evil.duckdb"
    try:
        data_access.check_snapshot(link)
    except data_access.SnapshotUnreadable as exc:
        assert str(exc) == ("Snapshot carton_caps_evil.duckdb is a symbolic link: refused, a "
                            "snapshot must be a regular file in duckdb/. Pick another run in "
                            "the sidebar, or rerun the pipeline.")
    else:
        raise AssertionError("a symlinked snapshot was opened")


def test_pipeline_ops_shows_paths_relative_to_the_home(tiny_run: TinyRun, tmp_path: Path,
                                                        use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    at = open_page("views/pipeline_ops.py")
    assert not at.exception
    manifest = at.json[0].value
    assert '"home": "."' in manifest
    assert '"path": "duckdb/carton_caps_tiny.duckdb"' in manifest
    assert not [text for text in _all_texts(at) if str(home) in text]


def test_sidebar_warns_when_the_served_snapshot_changed_since_publish(
        tiny_run: TinyRun, tmp_path: Path, use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    at = open_page()
    assert not at.exception and texts(at.sidebar.warning) == []  # copied with its mtime
    snapshot = home / "duckdb" / "carton_caps_tiny.duckdb"
    os.utime(snapshot, ns=(0, 86_400 * 10**9))
    published = tiny_run.manifest["snapshot"]["mtime"]
    at = open_page()
    assert not at.exception
    assert texts(at.sidebar.warning) == [
        "Snapshot carton_caps_tiny.duckdb changed on disk since it was published (modified "
        f"1970-01-02T00:00:00+00:00, published {published}). Check it with "
        "python pipeline/runs.py verify tiny."]
