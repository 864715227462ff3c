"""No credential reaches any file the storage code writes, whatever happens."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import duckdb
from pipeline.storage.archive import Archive
from pipeline.storage.cache import RunCache
from pipeline.storage.duckdb_s3 import configure_s3, read_error
from pipeline.storage.errors import StorageError
from pipeline.storage.landing import csv_uri, fetch_sqlite, land_run, list_sources, run_location
from pipeline.storage.uris import parse_location
from tests.storage.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, publish_fake_run
from tests.storage.test_landing import generator_output


@pytest.fixture
def run_log(tmp_path: Path) -> Iterator[Path]:
    """A log that records DEBUG from every logger, as the run's log does."""
    path = tmp_path / "home" / "logs" / "storage.log"
    path.parent.mkdir(parents=True)
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def leaks(folder: Path) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        content = path.read_bytes()
        for value in (ACCESS_KEY_ID, SECRET_ACCESS_KEY):
            if value.encode() in content:
                found.append(f"{path.relative_to(folder)} holds {value[:4]}…")
    return found


def test_no_credential_in_any_file_written(bucket: str, tmp_path: Path, run_log: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("tests.storage")
    home = tmp_path / "home"
    landing = run_location(parse_location(f"s3://{bucket}/landing", what="--landing"), "r1")
    land_run(generator_output(home), landing, home=home)
    logger.info("sources %s", list_sources(landing))
    fetch_sqlite(landing, tmp_path / "run_tmp")
    (home / "duckdb").mkdir()
    with duckdb.connect(str(home / "duckdb" / "loaded.duckdb")) as con:
        configure_s3(con)
        con.execute("create table events as select * from read_csv(?)",
                    [csv_uri(landing, "app_events.csv")])
        try:
            con.execute("select * from read_csv(?)", [csv_uri(landing, "missing.csv")])
        except duckdb.Error as exc:
            logger.exception("load failed: %s", read_error(exc, uri="s3://x/missing.csv"))
    archive = Archive.connect(f"s3://{bucket}/archive")
    archive.upload_run(publish_fake_run(home, "r1", as_of="2026-11-01",
                                        started_at="2026-12-01T00:00:00.000+00:00").paths)
    RunCache(tmp_path / "second_home" / "archive_cache").serve_latest(archive)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY + "wrong")
    try:
        Archive.connect("s3://no-such-bucket/x").latest()
    except StorageError as exc:
        logger.exception("archive failed: %s", exc)

    assert run_log.stat().st_size > 0
    assert leaks(tmp_path) == []
    stored = Path.home() / ".duckdb" / "stored_secrets"
    assert not stored.exists() or leaks(stored) == []
