"""Real runs with a webhook on 127.0.0.1: exactly one message for a failed, an interrupted
and a warning run, retried past a server error, bounded when the webhook never answers (the
run still publishes), the outcome in the manifest, and the URL in no file of the home."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from foundation.paths import HomePaths
from pipeline import run_pipeline
from pipeline.lifecycle.step_types import RunPlan, RunState, StepResult
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import read_pointer
from pipeline.records.run_manifest import RunManifest
from pipeline.steps import health
from tests.alerts.conftest import SECRET, Webhook, silent_webhook

TINY = ("--seed", "7", "--users", "300", "--as-of", "2026-11-01", "--quiet")
Scripted = Callable[..., AbstractContextManager[Webhook]]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home for these runs, so the last check sees every file they all wrote."""
    return tmp_path_factory.mktemp("alert_home")


def run(home: Path, run_id: str, *extra: str) -> int:
    return run_pipeline.main(["--home", str(home), "--run-id", run_id, *TINY, *extra])


def recorded(home: Path, run_id: str) -> RunManifest:
    document = manifest_io.load(HomePaths(home).run(run_id).manifest)
    assert document is not None, "the manifest must still pass its schema"
    return RunManifest.from_json(document)


def assert_no_secret_under(home: Path) -> None:
    holding = [str(path.relative_to(home)) for path in home.rglob("*")
               if path.is_file() and not path.is_symlink()
               and SECRET.encode() in path.read_bytes()]
    assert holding == []


@pytest.mark.pipeline_run
def test_a_failed_run_posts_one_alert(home: Path, webhook: Webhook,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTON_CAPS_ALERT_WEBHOOK", webhook.url)
    assert run(home, "failed_run", "--faults", "schema_drift_missing_column") == 1
    [body] = webhook.bodies
    assert (body["run_id"], body["trigger"], body["status"], body["failed_step"]) == (
        "failed_run", "failed", "failed", "load_raw")
    assert body["error"] == "app_events.csv: missing required column 'app_version'"
    assert [(f["severity"], f["owner"]) for f in body["findings"]] == [("error", "Engineering")]
    alert = recorded(home, "failed_run").alert
    assert alert is not None
    assert (alert.trigger, alert.sent, alert.delivered, alert.attempts, alert.status_code,
            alert.error) == ("failed", True, True, 1, 200, None)
    assert_no_secret_under(home)


def _interrupted(_state: RunState) -> StepResult:
    raise KeyboardInterrupt


@pytest.mark.pipeline_run
def test_an_interrupted_run_posts_one_alert(home: Path, webhook: Webhook,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTON_CAPS_ALERT_WEBHOOK", webhook.url)
    monkeypatch.setattr(run_pipeline, "run_plan", lambda _engine, _sources=None: RunPlan(
        (("generate", _interrupted),), conclude=health.conclude))
    assert run(home, "interrupted_run") == 130
    [body] = webhook.bodies
    assert (body["run_id"], body["trigger"], body["run_status"], body["failed_step"]) == (
        "interrupted_run", "interrupted", "interrupted", "generate")
    alert = recorded(home, "interrupted_run").alert
    assert alert is not None and (alert.trigger, alert.delivered) == ("interrupted", True)


@pytest.mark.pipeline_run
def test_a_warning_run_posts_one_alert_after_a_server_error(
        home: Path, scripted: Scripted) -> None:
    with scripted((500, 200)) as hook:
        assert run(home, "warning_run", "--faults", "duplicate_keys",
                   "--alert-webhook", hook.url) == 0
    first, delivered = hook.bodies  # the same message, posted again after the 500
    assert first == delivered
    assert (delivered["trigger"], delivered["status"], delivered["published"]) == (
        "warnings", "warnings", True)
    assert delivered["findings"], "a warning run names its findings"
    assert all(f["owner"] and f["link"].startswith("http://127.0.0.1:8501/")
               and "run=warning_run" in f["link"] for f in delivered["findings"])
    manifest = recorded(home, "warning_run")
    assert (manifest.status, manifest.pointer_updated) == ("success", True)
    assert manifest.alert is not None
    assert (manifest.alert.delivered, manifest.alert.attempts, manifest.alert.status_code) == (
        True, 2, 200)
    assert_no_secret_under(home)


@pytest.mark.pipeline_run
def test_a_webhook_that_never_answers_never_stops_publication(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTON_CAPS_ALERT_ON", "all")  # the healthy run is sent too
    with silent_webhook() as hook:
        monkeypatch.setenv("CARTON_CAPS_ALERT_WEBHOOK", hook.url)
        assert run(home, "silent_run", "--as-of", "2026-11-02") == 0
    manifest = recorded(home, "silent_run")
    assert (manifest.status, manifest.pointer_updated) == ("success", True)
    assert read_pointer(HomePaths(home)) == "silent_run"
    alert = manifest.alert
    assert alert is not None
    assert (alert.trigger, alert.sent, alert.delivered, alert.attempts, alert.status_code) == (
        "healthy", True, False, 3, None)
    assert alert.error is not None and alert.error.startswith("timed out after")
    assert_no_secret_under(home)
