"""The one message of a run: what it says for a failed, an interrupted, a warning and a
healthy run, built from the run's manifest and health, and when it is sent at all."""

from __future__ import annotations

from typing import Any

from pipeline.alerts.message import build_message, should_send, trigger_of
from pipeline.alerts.notify import notify
from pipeline.alerts.settings import AlertSettings
from pipeline.checks.health import Finding, RunHealth
from pipeline.records.run_manifest import OrchestratorRef, RunManifest, RunParams
from tests.alerts.conftest import Webhook
from tests.conftest import TinyRun

DASHBOARD = "http://127.0.0.1:8501"


def finding(finding_id: str, severity: str, title: str, owner: str, page: str) -> Finding:
    return Finding(finding_id=finding_id, severity=severity, category="stale data",  # type: ignore[arg-type]
                   subject=f"source.carton_caps.{finding_id}", subject_label=finding_id,
                   title=title, measured="120.12 h", threshold="<= 96 h", owner=owner,
                   page=page, evidence=())


STALE = finding("stale_data:rewards_ledger", "warning", "rewards_ledger is stale", "Finance",
                "data_contracts")
FAILED = finding("run_failed:dbt_build", "error", "dbt build failed: 1 failing node(s)",
                 "Engineering", "dbt_tests")


def manifest(status: str, health: RunHealth | None, **fields: Any) -> RunManifest:
    record = RunManifest(run_id="r1", status=status, started_at=None, home="/h",  # type: ignore[arg-type]
                         params=RunParams(7, 300, "2026-11-01", 540))
    record.health = None if health is None else health.to_json()
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def test_a_failed_run_names_its_step_error_and_findings_with_owners_and_links() -> None:
    failed = manifest("failed", RunHealth("failed", (FAILED, STALE)), failed_step="dbt_build",
                      error="dbt build failed: 1 failing node(s): not_null_x <b>")
    body = build_message(failed, dashboard_url=DASHBOARD)
    assert {k: body[k] for k in ("run_id", "status", "trigger", "run_status", "failed_step",
                                 "error", "as_of", "published", "findings_total")} == {
        "run_id": "r1", "status": "failed", "trigger": "failed", "run_status": "failed",
        "failed_step": "dbt_build", "error": "dbt build failed: 1 failing node(s): not_null_x <b>",
        "as_of": "2026-11-01", "published": False, "findings_total": 2}
    assert [(f["severity"], f["title"], f["owner"], f["link"]) for f in body["findings"]] == [
        ("error", "dbt build failed: 1 failing node(s)", "Engineering",
         "http://127.0.0.1:8501/dbt_tests?run=r1&finding=run_failed%3Adbt_build"),
        ("warning", "rewards_ledger is stale", "Finance",
         "http://127.0.0.1:8501/data_contracts?run=r1&finding=stale_data%3Arewards_ledger")]
    assert body["links"] == {"run": "http://127.0.0.1:8501/?run=r1",
                             "pipeline_ops": "http://127.0.0.1:8501/pipeline_ops?run=r1"}
    lines = body["text"].splitlines()
    assert lines[0] == ":red_circle: Carton Caps run `r1` FAILED at dbt_build (as of 2026-11-01)"
    assert lines[1] == "> dbt build failed: 1 failing node(s): not_null_x &lt;b&gt;"
    assert lines[3] == ("• [error] dbt build failed: 1 failing node(s) (owner: Engineering) "
                        "<http://127.0.0.1:8501/dbt_tests?run=r1&finding=run_failed%3Adbt_build"
                        "|open>")


def test_an_interrupted_run_says_where_it_stopped() -> None:
    stopped = manifest("interrupted", RunHealth("failed", ()), failed_step="contracts",
                       error="contracts: interrupted")
    body = build_message(stopped, dashboard_url=DASHBOARD)
    assert (body["trigger"], body["run_status"], body["status"], body["failed_step"]) == (
        "interrupted", "interrupted", "failed", "contracts")
    assert body["text"].startswith(
        ":double_vertical_bar: Carton Caps run `r1` was INTERRUPTED at contracts")
    # a signal in the instant after the last step leaves the manifest "running"
    assert trigger_of(manifest("running", None)) == "interrupted"


def test_a_warning_run_lists_its_findings() -> None:
    warned = manifest("success", RunHealth("warnings", (STALE,)), pointer_updated=True,
                      orchestrator=OrchestratorRef("dagster", "abc-123", "2026-11-01"))
    body = build_message(warned, dashboard_url="https://dash.test")
    assert (body["trigger"], body["status"], body["published"], body["pointer_moved"]) == (
        "warnings", "warnings", True, True)
    assert body["orchestrator"] == {"name": "dagster", "run_id": "abc-123",
                                    "partition": "2026-11-01"}
    assert body["text"].splitlines()[:3] == [
        ":warning: Carton Caps run `r1` published with warnings (as of 2026-11-01)",
        "1 finding(s), worst first:",
        "• [warning] rewards_ledger is stale (owner: Finance) <https://dash.test/data_contracts"
        "?run=r1&finding=stale_data%3Arewards_ledger|open>"]


def test_a_healthy_run_is_sent_only_when_asked() -> None:
    healthy = manifest("success", RunHealth("healthy", ()))
    assert trigger_of(healthy) == "healthy"
    assert not should_send("healthy", "problems")
    assert should_send("healthy", "all")
    assert all(should_send(t, "problems") for t in ("failed", "interrupted", "warnings"))


def test_no_message_for_a_healthy_run_unless_asked(tiny_run: TinyRun, webhook: Webhook) -> None:
    healthy = RunManifest.from_json(tiny_run.manifest)
    assert healthy.health is not None and healthy.health["status"] == "healthy"
    record = notify(healthy, AlertSettings.from_env({"CARTON_CAPS_ALERT_WEBHOOK": webhook.url}))
    assert record is not None
    assert (record.trigger, record.sent, record.attempts, record.reason) == (
        "healthy", False, 0, "healthy run; alerts are sent on problems")
    assert webhook.requests == []
    asked = AlertSettings.from_env({"CARTON_CAPS_ALERT_WEBHOOK": webhook.url,
                                    "CARTON_CAPS_ALERT_ON": "all"})
    record = notify(healthy, asked)
    assert record is not None and (record.sent, record.delivered) == (True, True)
    assert [body["trigger"] for body in webhook.bodies] == ["healthy"]


def test_no_webhook_no_record(tiny_run: TinyRun) -> None:
    assert notify(RunManifest.from_json(tiny_run.manifest), AlertSettings()) is None
