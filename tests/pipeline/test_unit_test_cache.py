"""dbt's unit tests once per code version (pipeline/transform/unit_test_cache.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foundation.paths import DBT_PROJECT_DIR
from pipeline.run_pipeline import UsageError, build_parser, config_from_args
from pipeline.transform import artifacts
from pipeline.transform.unit_test_cache import (
    NOT_IN_CACHE,
    UnitTestCache,
    add_cached_results,
    declared_unit_tests,
    default_policy,
    reconcile,
)
from tests.conftest import run_tiny

UNIT = "unit_test.carton_caps.fct_receipts.a_rejected_receipt_earns_nothing"


def _cache(tmp_path: Path, engine: tuple[str, ...] = ()) -> UnitTestCache:
    return UnitTestCache.for_run(tmp_path / "dbt" / "r2", DBT_PROJECT_DIR, engine)


def _target_with(tmp_path: Path, results: list[dict[str, object]]) -> Path:
    target = tmp_path / "dbt" / "r1" / "target"
    target.mkdir(parents=True)
    (target / "run_results.json").write_text(json.dumps({"results": results}))
    return target


def test_the_key_is_the_code_and_the_engine(tmp_path: Path) -> None:
    duckdb_key, spark_key = _cache(tmp_path).key, _cache(tmp_path, ("--target", "spark")).key
    assert duckdb_key == _cache(tmp_path).key and duckdb_key != spark_key
    project = tmp_path / "project"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: x\n")
    before = UnitTestCache.for_run(tmp_path / "dbt" / "r", project, ()).key
    (project / "dbt_project.yml").write_text("name: y\n")
    assert UnitTestCache.for_run(tmp_path / "dbt" / "r", project, ()).key != before


def test_only_a_build_whose_unit_tests_all_passed_is_kept(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    failing = _target_with(tmp_path, [{"unique_id": UNIT, "status": "fail"},
                                      {"unique_id": "model.carton_caps.m", "status": "success"}])
    assert not cache.store(failing, "r1") and cache.results() is None
    (failing / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": UNIT, "status": "pass", "compiled_code": "select 1"},
        {"unique_id": "model.carton_caps.m", "status": "success"}]}))
    assert cache.store(failing, "r1")
    [cached] = cache.results() or []
    assert cached["unique_id"] == UNIT and cached["status"] == "pass"
    assert cached["message"] == "cached: passed in run r1 on this code version"
    assert cached["execution_time"] == 0.0 and cached["compiled_code"] is None


@pytest.mark.parametrize("record", [
    "not json {",
    json.dumps([UNIT]),
    json.dumps({"key": "another code version", "run_id": "r1",
                "results": [{"unique_id": UNIT, "status": "pass"}]}),
    json.dumps({"key": "KEY", "run_id": "r1", "results": []}),
    json.dumps({"key": "KEY", "run_id": "r1", "results": [{"unique_id": UNIT, "status": "fail"}]}),
    json.dumps({"key": "KEY", "run_id": "r1",
                "results": [{"unique_id": "<b>unit_test.x.y.z</b>", "status": "pass"}]}),
    json.dumps({"key": "KEY", "run_id": "../r1",
                "results": [{"unique_id": UNIT, "status": "pass"}]}),
    json.dumps({"key": "KEY", "run_id": "r1", "results": [
        {"unique_id": UNIT, "status": "pass"}, {"unique_id": UNIT, "status": "pass"}]}),
])
def test_anything_but_a_record_of_passing_unit_tests_for_this_code_is_ignored(
        tmp_path: Path, record: str) -> None:
    cache = _cache(tmp_path)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(record.replace("KEY", cache.key))
    assert cache.results() is None


def test_a_link_in_place_of_the_record_is_not_followed(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"key": cache.key, "run_id": "r1",
                                     "results": [{"unique_id": UNIT, "status": "pass"}]}))
    cache.path.parent.mkdir(parents=True)
    cache.path.symlink_to(elsewhere)
    assert cache.results() is None


def test_the_policy_is_always_in_ci_and_a_bad_value_is_refused() -> None:
    assert default_policy({}) == "cached" and default_policy({"CI": "false"}) == "cached"
    assert default_policy({"CI": "true"}) == "always"
    parse = build_parser().parse_args
    assert config_from_args(parse(["--as-of", "2026-11-01"]), {"CI": "1"}).unit_tests == "always"
    assert config_from_args(parse(["--as-of", "2026-11-01", "--unit-tests", "cached"]),
                            {"CI": "1"}).unit_tests == "cached"
    with pytest.raises(UsageError) as refused:
        config_from_args(parse(["--as-of", "2026-11-01"]), {"CARTON_CAPS_UNIT_TESTS": "never"})
    assert str(refused.value) == ("CARTON_CAPS_UNIT_TESTS must be one of cached, always, "
                                  "got 'never'")


def _results(home: Path, run_id: str) -> dict[str, dict[str, object]]:
    document = artifacts.read_run_results(home / "logs" / "dbt" / run_id / "target") or {}
    return {str(r["unique_id"]): r for r in document["results"]}


@pytest.mark.pipeline_run
def test_a_second_run_of_the_same_code_reports_the_unit_tests_it_did_not_rerun(
        tmp_path: Path) -> None:
    """Every unit test is still its own passing row of the run's results and of its dbt
    summary, named as cached from the run that executed it."""
    assert run_tiny(tmp_path, "first", "--unit-tests", "cached") == 0
    assert run_tiny(tmp_path, "second", "--unit-tests", "cached") == 0
    assert run_tiny(tmp_path, "third", "--unit-tests", "always") == 0
    first, second, third = (_results(tmp_path, r) for r in ("first", "second", "third"))
    units = {u for u in first if u.startswith("unit_test.")}
    assert len(units) >= 15 and set(first) == set(second) == set(third)
    for unit in units:
        assert first[unit]["status"] == second[unit]["status"] == "pass"
        assert first[unit]["message"] is None and float(first[unit]["execution_time"]) > 0
        assert second[unit]["message"] == "cached: passed in run first on this code version"
        assert third[unit]["message"] is None and float(third[unit]["execution_time"]) > 0
    manifests = [json.loads((tmp_path / "logs" / f"pipeline_{r}.json").read_text())
                 for r in ("first", "second")]
    assert manifests[0]["dbt"] == manifests[1]["dbt"]
    assert manifests[1]["status"] == "success"

    # a record that lists fewer unit tests than the code declares (edited by hand) does
    # not make a run report fewer: the missing one is a skipped row, and the record goes
    [record_path] = (tmp_path / "logs" / "dbt" / ".unit_test_cache").glob("*.json")
    record = json.loads(record_path.read_text())
    dropped = record["results"].pop()["unique_id"]
    record_path.write_text(json.dumps(record))
    assert run_tiny(tmp_path, "fourth", "--unit-tests", "cached") == 0
    fourth = _results(tmp_path, "fourth")
    assert set(fourth) == set(first)
    assert (fourth[dropped]["status"], fourth[dropped]["message"]) == ("skipped", NOT_IN_CACHE)
    assert all(fourth[u]["status"] == "pass" for u in units - {dropped})
    summary = json.loads((tmp_path / "logs" / "pipeline_fourth.json").read_text())["dbt"]
    assert (summary["skip"], summary["total"]) == (1, manifests[0]["dbt"]["total"])
    assert not record_path.exists()


def _cached(*ids: str) -> list[dict[str, object]]:
    return [{"unique_id": unique_id, "status": "pass"} for unique_id in ids]


def test_the_reported_unit_tests_are_the_ones_the_build_declares() -> None:
    other = UNIT.replace("a_rejected", "another")
    rows, matched = reconcile(_cached(UNIT, other), {UNIT, other})
    assert matched and [r["unique_id"] for r in rows] == [UNIT, other]
    rows, matched = reconcile(_cached(UNIT, "unit_test.carton_caps.gone.test"), {UNIT, other})
    assert not matched
    assert [(r["unique_id"], r["status"]) for r in rows] == [(UNIT, "pass"), (other, "skipped")]
    assert rows[1]["message"] == NOT_IN_CACHE and rows[1]["failures"] is None
    assert reconcile(_cached(UNIT), None) == (_cached(UNIT), True)


def test_the_declared_unit_tests_are_read_from_the_manifest(tmp_path: Path) -> None:
    assert declared_unit_tests({"unit_tests": {UNIT: {}, "not an id": {}}}) == {UNIT}
    assert declared_unit_tests({}) is None and declared_unit_tests({"unit_tests": []}) is None
    target = _target_with(tmp_path, [{"unique_id": "model.carton_caps.x", "status": "success"}])
    assert not add_cached_results(target, _cached(), {UNIT})
    written = artifacts.read_run_results(target) or {}
    assert [(r["unique_id"], r["status"]) for r in written["results"]] == [
        ("model.carton_caps.x", "success"), (UNIT, "skipped")]
