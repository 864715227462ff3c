"""The run report (pipeline/evidence): one self-contained HTML file per run that opens in a
browser with no network, shows every section, and whose figures are the snapshot's,
recomputed here with SQL of the test's own; a failed run's report says why it failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import duckdb
from foundation.paths import HomePaths
from pipeline import runs
from pipeline.evidence import report_data, report_html
from pipeline.records.run_manifest import RunManifest
from tests.conftest import TinyRun, run_tiny

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
SECTION_IDS = [anchor for anchor, _heading in report_html.SECTIONS]
#: the issue's ceiling at 1,000,000 users; the tiny run's report must be well under it
MAX_BYTES = 5 * 1024 * 1024

#: every headline figure, recomputed independently of the report's (shared) SQL
EXPECTED_SQL = {
    "users": "select count(user_id) from marts.dim_users",
    "dau": "select dau from marts.mart_daily_engagement order by activity_date desc limit 1",
    "k_factor": ("select sum(qualified_referred_users)::double / sum(cohort_users) "
                 "from marts.mart_viral_coefficient where is_cohort_complete"),
    "dollars_raised": "select sum(dollars_raised) from marts.mart_school_fundraising",
    "reward_liability": ("select liability_dollars from marts.mart_reward_liability_daily "
                         "order by balance_date desc limit 1"),
    "expiring_90d": "select sum(expiring_90d_dollars) from marts.mart_expiry_outlook",
    "forecast_4w": ("select forecast_dollars from marts.mart_redemption_forecast_totals "
                    "where horizon_weeks = 4"),
}
#: each panel's chart and the mart whose rows it plots
CHART_MARTS = {"product": "marts.mart_daily_engagement",
               "marketing": "marts.mart_viral_coefficient",
               "finance": "marts.mart_reward_liability_daily"}

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian chromium is not installed")


def open_offline(report: Path) -> tuple[dict[str, Any], list[str]]:
    """Open ``report`` in headless Chromium with every request intercepted: the page's
    own file is served, anything else is refused and recorded. Returns what the page
    shows (sections, status, cause, KPIs, plotted points) and the refused requests."""
    from playwright.sync_api import Route, sync_playwright

    refused: list[str] = []
    url = report.resolve().as_uri()

    def intercept(route: Route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.route("**/*", intercept)
            page.goto(url, wait_until="load")
            shown = page.evaluate("""() => ({
              sections: [...document.querySelectorAll('section')].map(s => s.id),
              status: document.querySelector('[data-status]')?.dataset.status,
              cause: document.querySelector('[data-cause]')?.textContent,
              kpis: Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map(
                k => [k.dataset.kpi, k.querySelector('.value').textContent])),
              plotted: Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(
                d => [d.id.replace('chart-', ''), d.data.map(t => t.x.length)])),
            })""")
        finally:
            browser.close()
    refused.extend(u for u in requests if u != url and u not in refused)
    return shown, refused


def number(shown: str) -> float:
    return float(shown.replace("$", "").replace(",", ""))


def test_the_run_writes_its_report_as_a_step(tiny_run: TinyRun) -> None:
    steps = {step["name"]: step for step in tiny_run.manifest["steps"]}
    assert steps["report"]["status"] == "ok"
    report = tiny_run.home / "logs" / "report_tiny.html"
    assert steps["report"]["details"]["size_bytes"] == report.stat().st_size
    assert 0 < report.stat().st_size < MAX_BYTES
    html = report.read_text(encoding="utf-8")
    assert html.count("<script>") == 2  # Plotly once, the drawing code once
    assert "src=" not in html.split("<script>")[0]  # no external script, image or font


@pytest.mark.pipeline_run
@needs_chromium
def test_the_report_opens_offline_with_every_section_and_the_snapshots_figures(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    report = Path(runs.cmd_report(HomePaths(tiny_run.home), "tiny"))
    shown, refused = open_offline(report)
    assert refused == []
    assert shown["sections"] == SECTION_IDS
    assert shown["status"] == tiny_run.manifest["health"]["status"]
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        expected = {name: con.execute(sql).fetchone()[0] for name, sql in EXPECTED_SQL.items()}
        rows = {panel: con.execute(f"select count(*) from {mart}").fetchone()[0]
                for panel, mart in CHART_MARTS.items()}
    assert set(shown["kpis"]) == set(expected)
    for name, value in expected.items():
        places = 3 if name == "k_factor" else 2
        assert number(shown["kpis"][name]) == pytest.approx(float(value), abs=10 ** -places), name
    for panel, count in rows.items():
        assert shown["plotted"][panel] and set(shown["plotted"][panel]) == {count}, panel


@pytest.mark.pipeline_run
@needs_chromium
def test_a_failed_runs_report_shows_its_cause(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_tiny(home, "broken", "--faults", "schema_drift_missing_column") == 1
    manifest = json.loads((home / "logs" / "pipeline_broken.json").read_text())
    report = home / "logs" / "report_broken.html"
    shown, refused = open_offline(report)
    assert refused == []
    assert shown["sections"] == SECTION_IDS
    assert shown["status"] == "failed"
    assert manifest["failed_step"] == "load_raw"
    assert "load_raw" in shown["cause"]
    assert manifest["error"][:200] in " ".join(shown["cause"].split())
    assert shown["kpis"] == {} and shown["plotted"] == {}


def test_every_text_in_the_report_is_escaped() -> None:
    hostile = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'
    manifest = RunManifest(run_id="x", status="failed", started_at=None, home="/h",
                           params=None, failed_step="load_raw", error=hostile)
    manifest.contracts = {"failing": [{"status": "FAIL", "owner": hostile, "table": "t",
                                       "column": None, "measured": hostile}]}
    html = report_html.render(report_data.collect(manifest, None))
    assert "<img" not in html and "alert(2)</script>" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
