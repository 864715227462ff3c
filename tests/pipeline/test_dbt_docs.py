"""dbt's own documentation site per run (pipeline/steps/docs.py): one static page in the
run's dbt folder that inlines the run's manifest and catalog, opens offline and lists every
model of the run's manifest; a page that cannot be written is a warning, never a failure."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from foundation.paths import RunPaths
from pipeline.lifecycle.step_types import RunConfig, RunState
from pipeline.records import manifest as manifest_io
from pipeline.records.run_manifest import RunManifest, RunParams
from pipeline.steps import docs
from pipeline.transform.invocation import DbtError
from pipeline.transform.worker import IDLE_IMPORTS_FLAG, IDLE_IMPORTS_LINE
from tests.conftest import TinyRun

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian chromium is not installed")


def inlined(page: str, name: str) -> dict[str, Any]:
    """The JSON document dbt's static page inlines as ``<name>:{...}``."""
    marker = f"{name}:{{\"metadata\""
    start = page.index(marker) + len(name) + 1
    document, _end = json.JSONDecoder().raw_decode(page, start)
    return document


def models(manifest: dict[str, Any]) -> set[str]:
    return {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}


def run_manifest_models(tiny_run: TinyRun) -> set[str]:
    target = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id).dbt_dir / "target"
    return models(json.loads((target / "manifest.json").read_text()))


def test_the_docs_worker_starts_when_the_build_ends_not_when_the_docs_step_begins(
        tiny_run: TinyRun) -> None:
    lines = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id).log.read_text(
        encoding="utf-8").splitlines()

    def first(marker: str) -> int:
        return next(i for i, line in enumerate(lines) if marker in line)

    starts = [i for i, line in enumerate(lines)
              if "starting " in line and "-m pipeline.transform.worker" in line]
    # one worker for freshness and the build, started before the first step; one for the
    # docs, started as the build step ends, so its imports and parse overlap the checks
    assert len(starts) == 2, starts
    assert starts[0] < first("▶ generate")
    assert first("▶ dbt_build") < starts[1] < first("✓ dbt_build") < first("▶ dbt_docs")
    # only the first imports the Python models' libraries while it waits: the docs run none
    assert IDLE_IMPORTS_FLAG in lines[starts[0]] and IDLE_IMPORTS_FLAG not in lines[starts[1]]
    assert sum(IDLE_IMPORTS_LINE in line for line in lines) == 1


def test_the_run_writes_dbt_docs_and_records_them(tiny_run: TinyRun) -> None:
    document = manifest_io.read(tiny_run.manifest_path, tiny_run.home)  # schema-checked
    page = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id).dbt_docs
    step = next(s for s in document["steps"] if s["name"] == "dbt_docs")
    assert step["status"] == "ok"
    assert document["docs"]["written"] is True
    assert document["docs"]["path"] == str(page)
    assert document["docs"]["size_bytes"] == page.stat().st_size > 100_000
    assert not (page.parent / "index.html").exists()  # only the page that opens as a file
    assert not any(w["step"] == "dbt_docs" for w in document["warnings"])
    names = [s["name"] for s in document["steps"]]
    assert names.index("record_ops") < names.index("dbt_docs") < names.index("publish")


def test_the_static_page_inlines_every_model_of_the_runs_manifest(tiny_run: TinyRun) -> None:
    page = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id).dbt_docs
    html = page.read_text(encoding="utf-8")
    expected = run_manifest_models(tiny_run)
    assert len(expected) > 30
    assert models(inlined(html, "manifest")) == expected
    catalog = inlined(html, "catalog")
    # every model was built into the snapshot, so the catalog describes each one's columns
    assert set(catalog["nodes"]) >= expected
    assert all(catalog["nodes"][uid]["columns"] for uid in expected)
    # no external script, stylesheet or font: everything the page runs is inlined
    assert not re.findall(r"<script[^>]*\ssrc=", html)
    assert not re.findall(r"<link[^>]*href=\"https?:", html)


@pytest.mark.pipeline_run
@needs_chromium
def test_the_static_page_opens_offline_and_lists_every_model(tiny_run: TinyRun) -> None:
    from playwright.sync_api import Route, sync_playwright

    page_path = RunPaths(home=tiny_run.home, run_id=tiny_run.run_id).dbt_docs
    url = page_path.resolve().as_uri()
    requested: list[str] = []

    def intercept(route: Route) -> None:
        requested.append(route.request.url)
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.route("**/*", intercept)
            page.goto(url, wait_until="load")
            page.wait_for_function("() => document.body.innerText.includes('Database')",
                                   timeout=60_000)
            listed = page.evaluate("""() => {
              const project = angular.element(document.body).injector().get('project');
              return Object.values(project.project.nodes)
                .filter(n => n.resource_type === 'model').map(n => n.unique_id);
            }""")
        finally:
            browser.close()
    assert set(listed) == run_manifest_models(tiny_run)
    # nothing leaves the machine (dbt's page asks for a favicon by a broken local name)
    assert not [u for u in requested if not u.startswith("file://")]


def test_docs_that_cannot_be_written_are_a_warning(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(_invocation: object) -> Path:
        raise DbtError("dbt docs generate exited with code 2")

    monkeypatch.setattr(docs, "docs_generate", failing)
    config = RunConfig(home=tmp_path, run_id="r1", seed=1, users=10,
                       as_of=date(2026, 11, 1), days=30)
    state = RunState(config, RunPaths(home=tmp_path, run_id="r1"),
                     RunManifest(run_id="r1", status="running", started_at=None,
                                 home=str(tmp_path), params=config.params()))
    result = docs.step_dbt_docs(state)
    assert result.details == {"written": False}
    assert result.manifest.docs == {"written": False,
                                    "error": "dbt docs generate exited with code 2"}
    assert result.warnings == ("dbt's documentation site could not be written: "
                               "dbt docs generate exited with code 2",)
    manifest = RunManifest(run_id="r1", status="running", started_at=None, home="h",
                           params=RunParams(1, 10, "2026-11-01", 30))
    manifest.apply(result.manifest, step="dbt_docs")
    assert RunManifest.from_json(manifest.to_json()).docs == result.manifest.docs
