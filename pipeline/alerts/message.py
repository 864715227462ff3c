"""The one message a run's alert posts: Slack's ``text`` plus the run's facts as fields.

Everything comes from the run's final manifest: its status, the step that stopped it and
why, and its health (:class:`~pipeline.checks.health.RunHealth`: findings by root cause,
each with its owner and the dashboard page that explains it). Slack shows ``text`` (its
``<url|label>`` links, with ``&``, ``<`` and ``>`` of the run's own words escaped) and
ignores the other fields, which a script or another chat tool reads instead.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Literal
from urllib.parse import urlencode

from pipeline.checks.health import Finding, RunHealth
from pipeline.records.run_manifest import RunManifest

Trigger = Literal["failed", "interrupted", "warnings", "healthy"]
#: the findings a message names (the manifest and the dashboards have them all)
MAX_FINDINGS = 20
#: the error as the message quotes it
MAX_ERROR_CHARS = 1000
HOME_PAGE = "home"
RUN_PARAM, FINDING_PARAM = "run", "finding"
_HEADLINE = {
    "failed": ":red_circle: Carton Caps run {run} FAILED{at}",
    "interrupted": ":double_vertical_bar: Carton Caps run {run} was INTERRUPTED{at}",
    "warnings": ":warning: Carton Caps run {run} published with warnings",
    "healthy": ":white_check_mark: Carton Caps run {run} published, healthy",
}


def trigger_of(manifest: RunManifest) -> Trigger:
    """What the alert is about. A run still ``running`` at the end was stopped in the
    instant after its last step (the next run settles it as interrupted)."""
    if manifest.status == "failed":
        return "failed"
    if manifest.status != "success":
        return "interrupted"
    health = RunHealth.from_json(manifest.health)
    return "warnings" if health is not None and health.status != "healthy" else "healthy"


def should_send(trigger: Trigger, on: str) -> bool:
    """Problems always; a healthy run only when asked for (``CARTON_CAPS_ALERT_ON=all``)."""
    return trigger != "healthy" or on == "all"


def page_link(dashboard_url: str, page: str, run_id: str, finding_id: str | None = None) -> str:
    """The dashboards' page showing this run (and this finding at the top of it)."""
    query = {RUN_PARAM: run_id, **({FINDING_PARAM: finding_id} if finding_id else {})}
    path = "" if page == HOME_PAGE else page
    return f"{dashboard_url}/{path}?{urlencode(query)}"


def _escape(text: str) -> str:
    """Slack's three control characters in text that is not ours (titles, errors)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _finding(finding: Finding, dashboard_url: str, run_id: str) -> dict[str, Any]:
    return {"finding_id": finding.finding_id, "severity": finding.severity,
            "category": finding.category, "subject": finding.subject, "title": finding.title,
            "owner": finding.owner, "measured": finding.measured,
            "threshold": finding.threshold, "page": finding.page,
            "link": page_link(dashboard_url, finding.page, run_id, finding.finding_id)}


def _status(manifest: RunManifest, health: RunHealth | None) -> str:
    if health is not None:
        return health.status
    return "healthy" if manifest.status == "success" else "failed"


def build_message(manifest: RunManifest, *, dashboard_url: str) -> dict[str, Any]:
    """The JSON body of the run's alert."""
    trigger = trigger_of(manifest)
    health = RunHealth.from_json(manifest.health)
    findings = list(health.findings) if health is not None else []
    named = [_finding(f, dashboard_url, manifest.run_id) for f in findings[:MAX_FINDINGS]]
    error = (manifest.error or "")[:MAX_ERROR_CHARS] or None
    run_link = page_link(dashboard_url, HOME_PAGE, manifest.run_id)
    ops_link = page_link(dashboard_url, "pipeline_ops", manifest.run_id)
    at = f" at {manifest.failed_step}" if manifest.failed_step else ""
    lines = [_HEADLINE[trigger].format(run=f"`{manifest.run_id}`", at=at)
             + (f" (as of {manifest.params.as_of})" if manifest.params else "")]
    if error and trigger in ("failed", "interrupted"):
        lines.append(f"> {_escape(error)}")
    if findings:
        lines.append(f"{len(findings)} finding(s), worst first:")
        lines += [f"• [{f['severity']}] {_escape(f['title'])} (owner: "
                  f"{_escape(f['owner'] or 'unassigned')}) <{f['link']}|open>" for f in named]
        if len(findings) > len(named):
            lines.append(f"… and {len(findings) - len(named)} more on the dashboards")
    lines.append(f"<{run_link}|Open the run> · <{ops_link}|Pipeline Ops>")
    snapshot = manifest.snapshot.path
    return {
        "text": "\n".join(lines),
        "run_id": manifest.run_id,
        "status": _status(manifest, health),
        "trigger": trigger,
        "run_status": manifest.status if manifest.status != "running" else "interrupted",
        "failed_step": manifest.failed_step,
        "error": error,
        "as_of": manifest.params.as_of if manifest.params else None,
        "engine": manifest.params.engine if manifest.params else None,
        "published": manifest.status == "success",
        "pointer_moved": manifest.pointer_updated,
        "snapshot": PurePath(snapshot).name if snapshot else None,
        "findings": named,
        "findings_total": len(findings),
        "links": {"run": run_link, "pipeline_ops": ops_link},
        "orchestrator": manifest.orchestrator.to_json() if manifest.orchestrator else None,
    }
