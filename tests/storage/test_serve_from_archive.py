"""A real run archived from one home is served, verified, in a second, empty home."""

from __future__ import annotations

from pathlib import Path

import duckdb
from foundation.paths import HomePaths
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import read_pointer
from pipeline.storage.archive import Archive
from pipeline.storage.cache import RunCache
from tests.conftest import TinyRun


def mart_rows(snapshot: Path) -> dict[str, int]:
    with duckdb.connect(str(snapshot), read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1").fetchall()]
        return {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0]  # type: ignore[index]
                for t in tables}


def test_the_tiny_run_is_served_from_the_archive_alone(tiny_run: TinyRun, archive: Archive,
                                                       tmp_path: Path) -> None:
    result = archive.upload_run(HomePaths(tiny_run.home).run(tiny_run.run_id))
    second_home = tmp_path / "empty_home"
    cache = RunCache(second_home / "archive_cache")

    cached = cache.serve_latest(archive, rehash=True)

    assert result.latest_updated and cached.run_id == tiny_run.run_id
    assert {f.path for f in result.files} >= {
        f"logs/dbt/{tiny_run.run_id}/target/run_results.json",
        f"logs/dbt/{tiny_run.run_id}/target/manifest.json"}
    assert read_pointer(cache.paths) == tiny_run.run_id
    document = manifest_io.read(cache.paths.run(tiny_run.run_id).manifest, cache.root)
    assert document["snapshot"]["sha256"] == tiny_run.manifest["snapshot"]["sha256"]
    assert mart_rows(cached.snapshot) == mart_rows(tiny_run.snapshot)
    assert mart_rows(cached.snapshot)
