"""The run's OpenLineage events (pipeline/evidence/openlineage.py): a file of valid events
whose runs link pipeline -> step -> dbt node, whose column lineage of a mart is what its
SQL reads, sent over HTTP to a server on 127.0.0.1 when OPENLINEAGE_URL says so, and a
server that cannot be reached is a warning that never shows the URL's credentials."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage

from foundation.paths import RunPaths
from pipeline.evidence import openlineage
from pipeline.records.run_manifest import RunManifest
from tests.conftest import TinyRun

#: the OpenLineage 2-0-2 RunEvent's required structure (the client's wheel ships the spec
#: as generated classes, not as JSON: this is its schema, transcribed)
_FACET = {"type": "object", "required": ["_producer", "_schemaURL"],
          "properties": {"_producer": {"type": "string", "format": "uri"},
                         "_schemaURL": {"type": "string", "format": "uri"}}}
_FACETS = {"type": "object", "additionalProperties": _FACET}
_DATASET = {"type": "object", "required": ["namespace", "name"],
            "properties": {"namespace": {"type": "string"}, "name": {"type": "string"},
                           "facets": _FACETS}}
RUN_EVENT = {
    "type": "object",
    "required": ["eventTime", "producer", "schemaURL", "run", "job"],
    "properties": {
        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": {"type": "string", "format": "uri"},
        "schemaURL": {"type": "string", "format": "uri"},
        "run": {"type": "object", "required": ["runId"],
                "properties": {"runId": {"type": "string", "format": "uuid"},
                               "facets": _FACETS}},
        "job": {"type": "object", "required": ["namespace", "name"],
                "properties": {"namespace": {"type": "string"}, "name": {"type": "string"},
                               "facets": _FACETS}},
        "inputs": {"type": "array", "items": _DATASET},
        "outputs": {"type": "array", "items": _DATASET},
    },
}
MART = "model.carton_caps.mart_state_fundraising"


def events_of(tiny_run: TinyRun) -> list[dict[str, Any]]:
    path = openlineage.events_path(RunPaths(home=tiny_run.home, run_id=tiny_run.run_id))
    return [json.loads(line) for line in path.read_text().splitlines()]


def dbt_manifest(tiny_run: TinyRun) -> dict[str, Any]:
    target = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id).dbt_dir / "target"
    return json.loads((target / "manifest.json").read_text())


def test_every_event_is_a_valid_openlineage_run_event(tiny_run: TinyRun) -> None:
    events = events_of(tiny_run)
    validator = jsonschema.Draft202012Validator(
        RUN_EVENT, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for event in events:
        validator.validate(event)
    assert {e["schemaURL"].split("#")[0] for e in events} == {
        "https://openlineage.io/spec/2-0-2/OpenLineage.json"}


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


def read_columns(sql: str) -> dict[str, set[tuple[str, str]]]:
    """Each output column of ``sql`` and the (schema.table, column) pairs it reads,
    found with sqlglot: a reading independent of the one the events carry."""
    select = sqlglot.parse_one(sql, dialect="duckdb")
    reads: dict[str, set[tuple[str, str]]] = {}
    for column in select.named_selects:
        leaves = set()
        for node in lineage(column, sql, None, dialect="duckdb").walk():
            field = node.name.split(".")[-1]
            if not node.downstream and isinstance(node.source, exp.Table) and field != "*":
                table = node.source
                leaves.add((f"{table.db}.{table.name}", field))
        if leaves:
            reads[column] = leaves
    return reads


def test_the_column_lineage_of_a_mart_is_what_its_sql_reads(tiny_run: TinyRun) -> None:
    node = dbt_manifest(tiny_run)["nodes"][MART]
    expected = {column: {(f"carton_caps.{table}", field) for table, field in pairs}
                for column, pairs in read_columns(node["compiled_code"]).items()}
    assert expected  # the mart reads columns
    completes = [e for e in events_of(tiny_run) if e["eventType"] == "COMPLETE"
                 and e["job"]["name"].endswith(".mart_state_fundraising.build.run")]
    (output,) = completes[0]["outputs"]
    fields = output["facets"]["columnLineage"]["fields"]
    shown = {column: {(f["name"], f["field"]) for f in value["inputFields"]}
             for column, value in fields.items()}
    assert shown == expected
    inputs = {d["name"] for d in completes[0]["inputs"]}
    assert {name for pairs in shown.values() for name, _field in pairs} <= inputs


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
