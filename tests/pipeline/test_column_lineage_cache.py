"""The column-lineage cache (pipeline/evidence/column_lineage_cache.py): a run of unchanged
SQL takes every model's lineage from the home's cache, with the same events; an entry
naming a column its model cannot read, and a file that is not a record of the cache's
format, are ignored and the SQL read again."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.serde import Serde

from foundation.paths import RunPaths
from pipeline.evidence import column_lineage, openlineage
from pipeline.evidence.column_lineage_cache import CACHE_FILE, entry_key
from pipeline.records.run_manifest import RunManifest
from tests.conftest import TinyRun

Lineages = dict[str, dict[str, Any]]


def _lineages(events: list[Any]) -> Lineages:
    """Each model COMPLETE event's column-lineage facet, as JSON."""
    found = {}
    for event in events:
        document = json.loads(Serde.to_json(event))
        node = (document["job"].get("facets") or {}).get("dbt_node")
        if (node and node["unique_id"].startswith("model.")
                and document["job"]["name"].endswith(".build.run")
                and document["eventType"] == "COMPLETE"):
            facets = document["outputs"][0]["facets"]
            found[node["unique_id"]] = facets.get("columnLineage", {}).get("fields")
    return found


def _home_copy(tiny_run: TinyRun, tmp_path: Path) -> RunPaths:
    """The tiny run's logs (dbt's artefacts, schema snapshot, cache) in a home of the
    test's own, so the shared run is never modified."""
    shutil.copytree(tiny_run.home / "logs", tmp_path / "logs")
    return RunPaths(home=tmp_path, run_id=tiny_run.run_id)


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL the reader is asked to read from now on."""
    reads: list[str] = []
    real: Callable[..., Any] = column_lineage.read_lineage

    def counted(sql: str, columns: Any) -> Any:
        reads.append(sql)
        return real(sql, columns)
    monkeypatch.setattr(column_lineage, "read_lineage", counted)
    return reads


def _events(tiny_run: TinyRun, paths: RunPaths) -> Lineages:
    return _lineages(openlineage.build_events(RunManifest.from_json(tiny_run.manifest), paths))


def _cache_path(paths: RunPaths) -> Path:
    return openlineage.events_path(paths).with_name(CACHE_FILE)


@pytest.fixture
def first_read(tiny_run: TinyRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
               ) -> tuple[RunPaths, Lineages, int]:
    """A copy of the tiny run's home without its cache, its events built once (every
    model read), and how many models that read."""
    paths = _home_copy(tiny_run, tmp_path)
    _cache_path(paths).unlink()
    reads = _counting_reads(monkeypatch)
    lineages = _events(tiny_run, paths)
    return paths, lineages, len(reads)


def test_the_run_keeps_its_models_lineage_in_the_homes_cache(tiny_run: TinyRun) -> None:
    cache = _cache_path(RunPaths(home=tiny_run.home, run_id=tiny_run.run_id))
    document = json.loads(cache.read_text())
    assert document["format"] == 1
    assert len(document["entries"]) >= 50  # every SQL model the tiny run built


def test_unchanged_sql_takes_every_models_lineage_from_the_cache(
        tiny_run: TinyRun, first_read: tuple[RunPaths, Lineages, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    paths, lineages, read = first_read
    assert read >= 50
    written = _cache_path(paths).stat()
    reads = _counting_reads(monkeypatch)
    assert _events(tiny_run, paths) == lineages
    assert reads == []
    # nothing new to keep: the file is not written again
    kept = _cache_path(paths).stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    assert lineages["model.carton_caps.mart_top_referrers"]["conversion"]["inputFields"][0][
        "field"] == "is_qualified"


def _forged_then_built(tiny_run: TinyRun, paths: RunPaths,
                       change: Callable[[dict[str, Any]], None],
                       monkeypatch: pytest.MonkeyPatch) -> tuple[Lineages, list[str]]:
    """The copy's cache file rewritten as ``change`` edits its JSON, then the events
    built again: their lineages, and the SQL read to build them."""
    cache = _cache_path(paths)
    document = json.loads(cache.read_text())
    change(document)
    cache.write_text(json.dumps(document))
    reads = _counting_reads(monkeypatch)
    return _events(tiny_run, paths), reads


def _conversion_entry(document: dict[str, Any]) -> dict[str, Any]:
    """The cached entry of mart_top_referrers (the one model with a ``conversion``)."""
    return next(entry for entry in document["entries"].values() if "conversion" in entry)


def _renamed_key(document: dict[str, Any]) -> None:
    entries = document["entries"]
    entries.update({key.upper(): entries.pop(key) for key in list(entries)})


#: (a forgery of the cache file, whether it discards the whole file or one entry)
FORGERIES = {
    "an-input-it-cannot-read": (lambda document: _conversion_entry(document).update(
        conversion=[["raw", "users", "email_hash"]]), False),
    "an-output-it-does-not-have": (lambda document: _conversion_entry(document).update(
        {"<script>alert(1)</script>": _conversion_entry(document)["conversion"]}), False),
    "another-format": (lambda document: document.update(format=2), True),
    "a-format-not-a-number": (lambda document: document.update(format=True), True),
    "keys-not-lower-case-hex": (_renamed_key, True),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_entry_is_read_again_and_a_forged_record_ignored_whole(
        tiny_run: TinyRun, first_read: tuple[RunPaths, Lineages, int],
        monkeypatch: pytest.MonkeyPatch, forgery: str) -> None:
    paths, lineages, read = first_read
    change, whole = FORGERIES[forgery]
    again, reads = _forged_then_built(tiny_run, paths, change, monkeypatch)
    assert again == lineages
    assert len(reads) == (read if whole else 1)
    published = json.dumps(again["model.carton_caps.mart_top_referrers"])
    assert "raw" not in published and "script" not in published


@pytest.mark.parametrize("content", [
    b"{not json",
    b"[]",
    b"[" * 100_000,
    b'{"format": 1, "entries": []}',
], ids=["not-json", "a-list", "nested-too-deeply", "entries-a-list"])
def test_a_cache_file_that_is_not_a_record_is_ignored_and_replaced(
        tiny_run: TinyRun, first_read: tuple[RunPaths, Lineages, int],
        monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    paths, lineages, read = first_read
    _cache_path(paths).write_bytes(content)
    reads = _counting_reads(monkeypatch)
    assert _events(tiny_run, paths) == lineages
    assert len(reads) == read
    assert len(json.loads(_cache_path(paths).read_text())["entries"]) == read


def test_a_cache_file_that_links_out_of_the_home_is_not_read(
        tiny_run: TinyRun, first_read: tuple[RunPaths, Lineages, int],
        monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    paths, lineages, read = first_read
    outside = tmp_path_factory.mktemp("outside") / "cache.json"
    shutil.move(_cache_path(paths), outside)
    _cache_path(paths).symlink_to(outside)
    reads = _counting_reads(monkeypatch)
    assert _events(tiny_run, paths) == lineages
    assert len(reads) == read


def test_the_key_is_the_sql_the_columns_it_may_read_and_the_readers_version() -> None:
    columns = {("staging", "users"): ["user_id", "email_hash"]}
    key = entry_key("select user_id from staging.users", columns, "reader 1")
    assert key != entry_key("select email_hash from staging.users", columns, "reader 1")
    assert key != entry_key("select user_id from staging.users",
                            {("staging", "users"): ["user_id"]}, "reader 1")
    assert key != entry_key("select user_id from staging.users", columns, "reader 2")
    assert key == entry_key("select user_id from staging.users",
                            {("staging", "users"): ("user_id", "email_hash")}, "reader 1")
