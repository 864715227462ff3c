"""The run's OpenLineage events (pipeline/evidence/openlineage.py): every event and every
facet valid against the OpenLineage JSON schemas (tests/data/openlineage/README.md), runs
linked pipeline -> step -> dbt node, each model's inputs what dbt's manifest says it
depends on, its column lineage naming only those inputs' real columns and, for marts
read by hand, exactly what their SQL reads; events sent over HTTP to a server on
127.0.0.1 when OPENLINEAGE_URL says so, and a server that cannot be reached is a warning
that never shows the URL's credentials."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
from openlineage.common.schema import GITHUB_LOCATION
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import duckdb
from foundation.paths import RunPaths
from pipeline.evidence import openlineage
from pipeline.records.run_manifest import RunManifest
from tests.conftest import TinyRun

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "openlineage"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
#: models whose every column is computed from constants (a number series), so none has
#: column lineage
NO_COLUMN_READ = {"dim_dates"}


@cache
def registry() -> Registry:
    """The vendored spec and facet schemas, each at its $id; the integration's dbt facets
    also at the address their _schemaURL names (GITHUB_LOCATION), which is not their $id."""
    found: Registry = Registry()
    for path in sorted(SCHEMAS.rglob("*.json")):
        contents = json.loads(path.read_text())
        resource = DRAFT202012.create_resource(contents)
        found = found.with_resource(contents["$id"], resource)
        if path.parent.name == "dbt":
            found = found.with_resource(GITHUB_LOCATION + path.name, resource)
    return found.crawl()


@cache
def validator(url: str) -> jsonschema.Draft202012Validator:
    """A validator of the definition at ``url`` (with formats checked)."""
    return jsonschema.Draft202012Validator({"$ref": url}, registry=registry(),
                                           format_checker=FORMATS)


def events_of(tiny_run: TinyRun) -> list[dict[str, Any]]:
    path = openlineage.events_path(RunPaths(home=tiny_run.home, run_id=tiny_run.run_id))
    return [json.loads(line) for line in path.read_text().splitlines()]


def dbt_manifest(tiny_run: TinyRun) -> dict[str, Any]:
    target = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id).dbt_dir / "target"
    return json.loads((target / "manifest.json").read_text())


def failed_run_events(tmp_path: Path) -> list[dict[str, Any]]:
    """The events of a run whose step failed (an errorMessage facet the tiny run lacks)."""
    manifest, paths = small_run(tmp_path)
    path, _warnings = openlineage.emit(openlineage.build_events(manifest, paths), paths)
    return [json.loads(line) for line in path.read_text().splitlines()]


def facets_of(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every facet of an event, by name: the run's, the job's and its datasets'."""
    holders = [event["run"].get("facets"), event["job"].get("facets")]
    for dataset in [*event.get("inputs", ()), *event.get("outputs", ())]:
        holders += [dataset.get("facets"), dataset.get("inputFacets"),
                    dataset.get("outputFacets")]
    for holder in holders:
        yield from (holder or {}).items()


def test_every_event_is_a_valid_openlineage_run_event(tiny_run: TinyRun,
                                                      tmp_path: Path) -> None:
    assert {"date-time", "uuid", "uri"} <= set(FORMATS.checkers)  # none silently skipped
    events = events_of(tiny_run) + failed_run_events(tmp_path)
    for event in events:
        validator(f"{SPEC}#/$defs/RunEvent").validate(event)
    assert {e["schemaURL"] for e in events} == {f"{SPEC}#/$defs/RunEvent"}


def test_every_facet_is_valid_against_the_schema_it_names(tiny_run: TinyRun,
                                                          tmp_path: Path) -> None:
    """A facet whose schema is not vendored fails: a new facet cannot go unchecked."""
    seen: set[str] = set()
    for event in events_of(tiny_run) + failed_run_events(tmp_path):
        for name, facet in facets_of(event):
            url = facet["_schemaURL"]
            address, _, pointer = url.partition("#")
            assert address in registry(), f"{name}: no vendored schema at {url}"
            if pointer:
                validator(url).validate(facet)
            else:  # the document describes the facets by name
                assert name in registry().contents(address)["properties"], (name, url)
                validator(address).validate({name: facet})
            seen.add(name)
    assert {"parent", "errorMessage", "schema", "columnLineage", "dataQualityAssertions",
            "sql", "jobType", "dbt_node", "dbt_run", "processing_engine"} <= seen


def test_runs_link_pipeline_steps_and_dbt_nodes(tiny_run: TinyRun) -> None:
    events = events_of(tiny_run)
    pipeline_run = openlineage.run_uuid(tiny_run.run_id)
    assert (events[0]["job"]["name"], events[0]["eventType"]) == ("pipeline", "START")
    assert (events[-1]["job"]["name"], events[-1]["eventType"]) == ("pipeline", "COMPLETE")
    assert {e["run"]["runId"] for e in events if e["job"]["name"] == "pipeline"} == {
        pipeline_run}
    steps = [s["name"] for s in tiny_run.manifest["steps"]]
    for step in steps:
        mine = [e for e in events if e["job"]["name"] == f"pipeline.{step}"]
        assert [e["eventType"] for e in mine] == ["START", "COMPLETE"], step
        assert {e["run"]["runId"] for e in mine} == {openlineage.run_uuid(tiny_run.run_id,
                                                                          step)}
        assert all(e["run"]["facets"]["parent"]["run"]["runId"] == pipeline_run
                   for e in mine)
    build_run = openlineage.run_uuid(tiny_run.run_id, "dbt_build")
    models = {uid.split(".")[-1] for uid, node in dbt_manifest(tiny_run)["nodes"].items()
              if node["resource_type"] == "model"}
    model_events = [e for e in events if e["job"]["name"].endswith(".build.run")]
    for name in models:
        mine = [e for e in model_events if e["job"]["name"].endswith(f".{name}.build.run")]
        assert sorted(e["eventType"] for e in mine) == ["COMPLETE", "START"], name
        assert all(e["run"]["facets"]["parent"]["run"]["runId"] == build_run for e in mine)
        assert all(e["run"]["facets"]["parent"]["root"]["run"]["runId"] == pipeline_run
                   for e in mine)
    # dbt's tests arrive as data-quality assertions on the datasets they test
    assertions = [d["facets"]["dataQualityAssertions"] for e in events
                  for d in e.get("inputs", []) if "dataQualityAssertions" in d.get("facets", {})]
    assert assertions and all(a["assertions"] for a in assertions)


def model_events(tiny_run: TinyRun, state: str = "COMPLETE") -> dict[str, dict[str, Any]]:
    """Each dbt model's event of ``state``, by unique id."""
    return {e["job"]["facets"]["dbt_node"]["unique_id"]: e for e in events_of(tiny_run)
            if e["eventType"] == state and e["job"]["name"].endswith(".build.run")
            and e["job"]["facets"]["dbt_node"]["unique_id"].startswith("model.")}


def relation_name(node: dict[str, Any]) -> str:
    return f"{node['database']}.{node['schema']}.{node.get('alias') or node['name']}"


def test_each_model_event_reads_what_dbt_says_it_depends_on(tiny_run: TinyRun) -> None:
    dbt = dbt_manifest(tiny_run)
    relations = {**dbt["sources"], **dbt["nodes"]}
    models = {uid: node for uid, node in dbt["nodes"].items()
              if node["resource_type"] == "model"}
    for state in ("START", "COMPLETE"):
        events = model_events(tiny_run, state)
        assert set(events) == set(models), state
        for uid, node in models.items():
            inputs = sorted(d["name"] for d in events[uid].get("inputs", ()))
            assert inputs == sorted(relation_name(relations[dependency])
                                    for dependency in node["depends_on"]["nodes"]), uid
            assert [d["name"] for d in events[uid]["outputs"]] == [relation_name(node)], uid


def snapshot_columns(tiny_run: TinyRun) -> dict[str, set[str]]:
    """The published snapshot's columns by dataset name (carton_caps.schema.table)."""
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database()").fetchall()
    columns: dict[str, set[str]] = {}
    for schema, table, column in rows:
        columns.setdefault(f"{openlineage.NAMESPACE}.{schema}.{table}", set()).add(column)
    return columns


def lineage_of(event: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    (output,) = event["outputs"]
    fields = output["facets"]["columnLineage"]["fields"]
    return {column: {(f["name"], f["field"]) for f in value["inputFields"]}
            for column, value in fields.items()}


def test_column_lineage_names_only_the_events_inputs_and_their_columns(
        tiny_run: TinyRun) -> None:
    """Every model with SQL: no input field names a CTE or anything else that is not an
    input dataset of the event, and every (dataset, field) is a column of the snapshot;
    Python models and START events carry no column lineage."""
    dbt = dbt_manifest(tiny_run)
    columns = snapshot_columns(tiny_run)
    for uid, event in model_events(tiny_run).items():
        node = dbt["nodes"][uid]
        facets = event["outputs"][0]["facets"]
        if node["language"] != "sql" or node["name"] in NO_COLUMN_READ:
            assert "columnLineage" not in facets, uid
            continue
        assert "columnLineage" in facets, uid
        inputs = {d["name"]: d["namespace"] for d in event["inputs"]}
        for value in facets["columnLineage"]["fields"].values():
            for field in value["inputFields"]:
                assert inputs.get(field["name"]) == field["namespace"], (uid, field)
                assert field["field"] in columns.get(field["name"], ()), (uid, field)
        assert set(facets["columnLineage"]["fields"]) <= columns[relation_name(node)], uid
    for event in model_events(tiny_run, "START").values():
        assert all("columnLineage" not in d["facets"] for d in event["outputs"])


def columns_from(table: str, *fields: str) -> set[tuple[str, str]]:
    return {(f"{openlineage.NAMESPACE}.{table}", field) for field in fields}


USERS = "staging.stg_app_db__users"
ACTIVITY = "intermediate.int_user_activity_daily"
FUNNEL = "intermediate.int_referral_funnel_scored"
FEATURE_FLAGS = ("has_receipt_scan", "has_referral_share", "has_rewards_view",
                 "has_redemption_request")
#: read by hand from the marts' SQL (dbt_carton_caps/models/marts/): through their CTEs
#: (a select * of one, a union all whose branches are matched by position, joins and a
#: window) to the columns of the relations they read; a column computed from count(*),
#: a literal or a number series reads none and is absent
BY_HAND: dict[str, dict[str, set[tuple[str, str]]]] = {
    "mart_retention_cohorts": {
        "signup_week": columns_from(USERS, "signed_up_at"),
        "active_users": columns_from(ACTIVITY, "user_id"),
        "retention": columns_from(ACTIVITY, "user_id"),
        "is_complete": columns_from(USERS, "signed_up_at"),
    },
    "mart_feature_adoption_weekly": {
        "activity_week": columns_from(ACTIVITY, "activity_week"),
        "feature_users": columns_from(ACTIVITY, *FEATURE_FLAGS),
        "adoption_share": columns_from(ACTIVITY, *FEATURE_FLAGS),
    },
    "mart_top_referrers": {
        "referrer_user_id": columns_from(FUNNEL, "referrer_user_id"),
        "referrer_rank": columns_from(FUNNEL, "is_qualified", "referrer_user_id"),
        "installs": columns_from(FUNNEL, "is_installed"),
        "qualified_referrals": columns_from(FUNNEL, "is_qualified"),
        "conversion": columns_from(FUNNEL, "is_qualified"),
        "referral_bonus_dollars": columns_from("staging.stg_event_exports__rewards_ledger",
                                               "amount_cents"),
        "first_invite_at": columns_from(FUNNEL, "sent_at"),
        "last_invite_at": columns_from(FUNNEL, "sent_at"),
    },
}


@pytest.mark.parametrize("mart", sorted(BY_HAND))
def test_the_column_lineage_of_a_mart_is_what_its_sql_reads(tiny_run: TinyRun,
                                                            mart: str) -> None:
    assert lineage_of(model_events(tiny_run)[f"model.carton_caps.{mart}"]) == BY_HAND[mart]


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "event": json.loads(body)})
        self.send_response(201)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def lineage_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Collector.received
    finally:
        server.shutdown()
        server.server_close()


def small_run(tmp_path: Path) -> tuple[RunManifest, RunPaths]:
    manifest = RunManifest.from_json({
        "run_id": "r1", "status": "success", "started_at": "2026-11-01T10:00:00+00:00",
        "finished_at": "2026-11-01T10:01:00+00:00",
        "steps": [{"name": "generate", "status": "ok", "started_at":
                   "2026-11-01T10:00:00+00:00", "duration_s": 2.0},
                  {"name": "load_raw", "status": "failed", "started_at":
                   "2026-11-01T10:00:02+00:00", "duration_s": 1.0, "error": "no file"}]})
    return manifest, RunPaths(home=tmp_path, run_id="r1")


def test_events_are_sent_to_a_lineage_server(tmp_path: Path, lineage_server: tuple[
        str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, received = lineage_server
    monkeypatch.setenv(openlineage.URL_ENV, url)
    manifest, paths = small_run(tmp_path)
    path, warnings = openlineage.emit(openlineage.build_events(manifest, paths), paths)
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert warnings == []
    assert [r["path"] for r in received] == ["/api/v1/lineage"] * 6
    assert [r["event"] for r in received] == written
    assert [e["eventType"] for e in written] == ["START", "START", "COMPLETE", "START",
                                                 "FAIL", "COMPLETE"]
    assert written[4]["run"]["facets"]["errorMessage"]["message"] == "no file"


def test_an_unreachable_server_is_a_warning_without_its_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(openlineage.URL_ENV, "http://user:s3cret@127.0.0.1:9/?api_key=k3y")
    manifest, paths = small_run(tmp_path)
    path, warnings = openlineage.emit(openlineage.build_events(manifest, paths), paths)
    assert len(path.read_text().splitlines()) == 6  # the file is written all the same
    (warning,) = warnings
    assert "http://127.0.0.1:9/" in warning
    assert "s3cret" not in warning and "k3y" not in warning and "user" not in warning


def test_source_files_raw_tables_and_contracts_are_datasets(tiny_run: TinyRun) -> None:
    events = {e["job"]["name"]: e for e in events_of(tiny_run) if e["eventType"] == "COMPLETE"}
    manifest = tiny_run.manifest
    tables = manifest["ingestion"]["tables"]
    load = events["pipeline.load_raw"]
    assert {Path(d["name"]).name for d in load["inputs"]} == {
        t["source_file"] for t in tables.values()}
    assert {d["name"] for d in load["outputs"]} == {f"carton_caps.raw.{t}" for t in tables}
    assert all(d["facets"]["schema"]["fields"] for d in load["outputs"])
    # raw tables are the same datasets dbt's staging models read
    model_inputs = {d["name"] for e in events.values() for d in e.get("inputs", [])
                    if e["job"]["name"].endswith(".build.run")}
    assert {d["name"] for d in load["outputs"]} & model_inputs
    checks = [a for d in events["pipeline.contracts"]["inputs"]
              for a in d["facets"]["dataQualityAssertions"]["assertions"]]
    summary = manifest["contracts"]["summary"]
    assert len(checks) == summary["total"]
    assert sum(a["success"] for a in checks) == summary["pass"]


def test_the_run_log_keeps_the_libraries_debugging_out(tiny_run: TinyRun) -> None:
    """A 1,000,000-user run's log had 295 lines of OpenLineage's transport and 130 of the
    processor's deprecation notices (one per node) among 1,283: the run's story drowned."""
    log = (tiny_run.home / "logs" / f"pipeline_{tiny_run.run_id}.log").read_text()
    assert "openlineage.client" not in log
    assert "facet is deprecated" not in log
    assert "faker.factory" not in log
    assert "lifecycle.runner" in log  # the run's own records are all there
