"""The dashboards served from an archive alone: a second, empty home shows what the first
home shows, through a verified cache; an altered object is refused with its reason."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foundation.paths import HomePaths
from pipeline.storage.archive import Archive
from streamlit_app import archive_serving
from tests.conftest import TinyRun
from tests.streamlit.conftest import open_page, shown, texts

#: Home's tiles that are not figures of the run but of the moment the page is drawn
CLOCK_METRICS = ("Age",)


def home_figures(at: Any) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in at.metric if m.label not in CLOCK_METRICS}


def forget_archive_views() -> None:
    """What a new dashboard process knows of any archive: nothing."""
    archive_serving._views.clear()
    archive_serving._verified.clear()


@pytest.fixture(autouse=True)
def fresh_archive_view() -> Iterator[None]:
    forget_archive_views()
    yield
    forget_archive_views()


@pytest.fixture
def archived_tiny(tiny_run: TinyRun, archive: Archive) -> TinyRun:
    archive.upload_run(HomePaths(tiny_run.home).run(tiny_run.run_id))
    return tiny_run


def serve(monkeypatch: pytest.MonkeyPatch, home: Path, archive: str | None) -> None:
    monkeypatch.setenv("CARTON_CAPS_HOME", str(home))
    if archive is None:
        monkeypatch.delenv(archive_serving.ARCHIVE_ENV, raising=False)
    else:
        monkeypatch.setenv(archive_serving.ARCHIVE_ENV, archive)


def test_an_empty_home_serves_the_same_home_figures_from_the_archive(
        archived_tiny: TinyRun, archive: Archive, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    serve(monkeypatch, archived_tiny.home, None)
    first = open_page()
    empty_home = tmp_path / "dashboard_host"
    empty_home.mkdir()
    serve(monkeypatch, empty_home, str(archive))

    second = open_page()

    assert not second.exception and not second.error, [e.value for e in second.error]
    assert home_figures(first)
    assert home_figures(second) == home_figures(first)
    assert second.code[0].value == archived_tiny.run_id
    cached = empty_home / "archive_cache" / "duckdb" / archived_tiny.snapshot.name
    assert cached.read_bytes() == archived_tiny.snapshot.read_bytes()
    # the snapshot arrived once, kept the time it was published, and is reused
    assert cached.stat().st_mtime_ns == archived_tiny.snapshot.stat().st_mtime_ns
    assert not [w for w in texts(second.sidebar.warning) if "changed on disk" in w]
    forget_archive_views()
    before = cached.stat().st_ino
    assert not open_page().exception and cached.stat().st_ino == before


def test_an_altered_snapshot_in_the_archive_is_refused_with_its_reason(
        archived_tiny: TinyRun, archive: Archive, tmp_path: Path, s3: Any, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"carton_caps/runs/tiny/duckdb/{archived_tiny.snapshot.name}"
    altered = bytearray(archived_tiny.snapshot.read_bytes())
    altered[4096] ^= 0xFF
    metadata = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(altered), Metadata=metadata)
    empty_home = tmp_path / "dashboard_host"
    empty_home.mkdir()
    serve(monkeypatch, empty_home, str(archive))

    at = open_page()

    assert not at.exception
    [error] = texts(at.error)
    assert error.startswith(f"Cannot serve from the archive {archive}: s3://{bucket}/{key} "
                            "has sha256 ")
    assert "was recorded when it was written: altered or damaged, refused" in error
    assert not list((empty_home / "archive_cache" / "duckdb").glob("*.duckdb*"))


def test_a_refused_archive_keeps_serving_the_copy_verified_before(
        archived_tiny: TinyRun, archive: Archive, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    empty_home = tmp_path / "dashboard_host"
    empty_home.mkdir()
    serve(monkeypatch, empty_home, str(archive))
    assert not open_page().error
    forget_archive_views()
    with socket.socket() as sock:  # a port nothing listens on: the store is down
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", down)

    at = open_page()

    assert not at.exception and not at.error
    [note] = [shown(w) for w in texts(at.sidebar.warning) if "Archive problem" in w]
    assert note.startswith(f"Archive problem (cannot reach the object store {down} ")
    assert f"run {archived_tiny.run_id}, the newest copy verified earlier" in note
