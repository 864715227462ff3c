"""The real server in a real browser: every page renders without an exception block."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from foundation.paths import REPO_ROOT
from streamlit_app import ui
from streamlit_app.literal import WORD_JOINER, cut
from tests.streamlit.conftest import copy_home, write_manifest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
SERVER_START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 60_000
#: each page's heading: its title in streamlit_app/pages.yml (Home shows the app's name)
EXPECTED_TITLES = {page["name"]: page["title"] for page in yaml.safe_load(
    (REPO_ROOT / "streamlit_app" / "pages.yml").read_text(encoding="utf-8"))["pages"]} | {
    "home": "Carton Caps Analytics"}
#: Streamlit's own probe of ``<page>/_stcore/...`` before it falls back to the root: not ours
STREAMLIT_PROBE = "/_stcore/"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy at {url}")


@contextlib.contextmanager
def serve_home(home: Path, log_path: Path, *options: str) -> Iterator[str]:
    """``streamlit run`` on a free port against ``home`` (with Streamlit ``options`` such
    as ``--theme.base dark``); stopped afterwards."""
    port = _free_port()
    env = {**os.environ, "CARTON_CAPS_HOME": str(home)}
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "streamlit_app" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", *options],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def served_app(tiny_run, tmp_path: Path) -> Iterator[str]:
    """The app against the tiny run's home."""
    with serve_home(tiny_run.home, tmp_path / "streamlit.log") as url:
        yield url


@pytest.mark.pipeline_run
def test_every_page_renders_in_chromium(served_app: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console: list[str] = []
            probes: set[str] = set()
            page.on("response", lambda response: probes.add(response.url)
                    if response.status == 404 and STREAMLIT_PROBE in response.url else None)
            page.on("console", lambda message: console.append(message.text)
                    if message.type == "error" else None)
            for _section, _file, title, url_path in ui.PAGE_SPECS:
                page.goto(f"{served_app}/{ui.page_url_path(url_path)}", timeout=PAGE_TIMEOUT_MS)
                page.wait_for_selector("h1", timeout=PAGE_TIMEOUT_MS)
                page.wait_for_selector(
                    '[data-testid="stApp"][data-test-script-state="notRunning"]',
                    timeout=PAGE_TIMEOUT_MS)
                page.wait_for_timeout(1500)  # let Plotly finish drawing
                page.screenshot(path=str(shots / f"{url_path}.png"), full_page=True)
                if page.locator('[data-testid="stException"]').count():
                    problems.append(f"{title}: exception block shown")
                if url_path == "finance" and not page.locator(
                        "path.choroplethlocation").count():
                    problems.append("Finance: the US map drew no states (topojson not served)")
                if url_path == "finance":
                    # the questions Finance asks, answered on the page without a download
                    for text in ("Expires in the next 90 days", "Can I trust it?",
                                 "Redemptions, next 4 weeks", "80 % range"):
                        if not page.get_by_text(text).count():
                            problems.append(f"Finance: {text!r} not shown")
                if page.get_by_text("Page not found").count():
                    problems.append(f"{title}: served at an unknown URL")
                heading = page.locator("h1").first.inner_text().strip()
                if heading != EXPECTED_TITLES[url_path]:
                    problems.append(f"{title}: heading {heading!r}")
            # every console error must be one of Streamlit's probe 404s
            unexplained = [text for text in console if "404" not in text]
            if unexplained or len(console) > len(probes):
                problems.append(f"console errors: {console[:5]}")
        finally:
            browser.close()
    target = os.environ.get("CARTON_CAPS_SCREENSHOT_DIR")
    if target:
        shutil.copytree(shots, target, dirs_exist_ok=True)
    assert problems == []
    assert sorted(path.stem for path in shots.glob("*.png")) == sorted(
        spec[3] for spec in ui.PAGE_SPECS)


@pytest.mark.pipeline_run
def test_a_shared_link_shows_the_same_run_and_filters(served_app: str) -> None:
    """The URL carries the run and the page's filters: a new browser context reproduces it."""
    from playwright.sync_api import sync_playwright

    link = f"{served_app}/data_contracts?run=tiny&status=WARN,FAIL"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _attempt in range(2):  # the second context is a fresh "shared link" visit
                context = browser.new_context(viewport={"width": 390, "height": 900})
                page = context.new_page()
                page.goto(link, timeout=PAGE_TIMEOUT_MS)
                page.wait_for_selector(
                    '[data-testid="stApp"][data-test-script-state="notRunning"]',
                    timeout=PAGE_TIMEOUT_MS)
                assert "run=tiny" in page.url
                assert "status=WARN%2CFAIL" in page.url or "status=WARN,FAIL" in page.url
                assert page.get_by_text("No contract checks match the filters above").count()
                assert not page.locator('[data-testid="stException"]').count()
                context.close()
        finally:
            browser.close()


#: the issue's link and tracking image, as a shared link would carry them
ATTACK = "[x](http://127.0.0.1:9/login) ![x](http://127.0.0.1:9/track.png)"
#: what GFM links without any markup, and HTML
BARE = ("http://127.0.0.1:9/bare <img src=http://127.0.0.1:9/h.png> www.example.com "
        "a@example.com <http://127.0.0.1:9/angle>")
TARGET = "127.0.0.1:9"


@pytest.mark.pipeline_run
def test_markup_from_the_link_and_the_files_draws_no_link_image_or_request(
        tiny_run, tmp_path: Path) -> None:
    """``?run=`` and a failed run's manifest (step, error) hold links, images and bare
    URLs: the browser shows them as text and never contacts 127.0.0.1:9."""
    from urllib.parse import quote

    from playwright.sync_api import sync_playwright

    home = copy_home(tiny_run.home, tmp_path / "home")
    write_manifest(home, "evil", status="failed", failed_step=ATTACK,
                   error=f"{ATTACK} {BARE}", started_at="2999-01-01T00:00:00+00:00",
                   steps=[{"name": f"<a href='http://{TARGET}/s'>{ATTACK}</a>",
                           "duration_s": 9.0, "status": "failed"}])
    requests: list[str] = []
    problems: list[str] = []
    with serve_home(home, tmp_path / "streamlit.log") as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda request: requests.append(request.url))
            for path, run in (("", ATTACK), ("", BARE), ("pipeline_ops", ATTACK)):
                page.goto(f"{url}/{path}?run={quote(run)}", timeout=PAGE_TIMEOUT_MS)
                page.wait_for_selector("h1", timeout=PAGE_TIMEOUT_MS)
                page.wait_for_selector(
                    '[data-testid="stApp"][data-test-script-state="notRunning"]',
                    timeout=PAGE_TIMEOUT_MS)
                page.wait_for_timeout(1500)  # images load, Plotly draws
                where = f"/{path}?run={run[:20]}"
                sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
                if cut(run) not in sidebar.replace(WORD_JOINER, ""):
                    problems.append(f"{where}: the link's run is not shown as text")
                if page.locator(f'a[href*="{TARGET}"], img[src*="{TARGET}"]').count():
                    problems.append(f"{where}: a link or image to {TARGET}")
                links = page.locator("a[href]").evaluate_all(
                    "anchors => anchors.map(a => a.getAttribute('href'))")
                outside = [href for href in links  # a scheme (http:, mailto:) not ours
                           if re.match(r"[a-z][a-z0-9+.-]*:", href) and not href.startswith(url)]
                if outside:
                    problems.append(f"{where}: links out of the app {outside}")
                if re.search(rf"(href|src)=\"[^\"]*{re.escape(TARGET)}", page.content()):
                    problems.append(f"{where}: {TARGET} in an attribute (chart or markdown)")
                if path == "" and "The newest run evil failed at step" not in page.inner_text(
                        "body").replace(WORD_JOINER, ""):
                    problems.append("Home: the failed run is not named")
                if page.locator('[data-testid="stException"]').count():
                    problems.append(f"{where}: exception block shown")
        finally:
            browser.close()
    assert problems == []
    assert [request for request in requests if TARGET in request] == []


#: the two widths every page must fit: a desktop and a phone
WIDTHS = (1400, 390)
THEMES = ("light", "dark")
#: what does not fit: the main block scrolling sideways, a chart wider than the viewport,
#: a text of a chart (title, tick, legend, label) cut by the chart's edge, a text cut off
#: with an ellipsis or hidden overflow (a link, a metric's label or value, a heading)
LAYOUT_PROBLEMS = """(width) => {
  const problems = [];
  const main = document.querySelector('[data-testid="stMain"]');
  if (main.scrollWidth > main.clientWidth + 1)
    problems.push(`main block overflows: ${main.scrollWidth} > ${main.clientWidth}`);
  document.querySelectorAll('[data-testid="stPlotlyChart"]').forEach((chart, i) => {
    const box = chart.getBoundingClientRect();
    if (box.width === 0) return;  // in a collapsed expander or another tab
    if (box.left < -1 || box.right > width + 1)
      problems.push(`chart ${i} outside the viewport: ${box.left}-${box.right}`);
    chart.querySelectorAll('text').forEach((text) => {
      const r = text.getBoundingClientRect();
      if (r.width > 0 && (r.left < box.left - 2 || r.right > box.right + 2))
        problems.push(`chart ${i}: "${text.textContent.slice(0, 40)}" cut at the edge`);
    });
  });
  const cut = '[data-testid="stPageLink-NavLink"] p, [data-testid="stMetricLabel"] p,'
    + ' [data-testid="stMetricValue"] div, [data-testid="stMarkdownContainer"] p,'
    + ' [data-testid="stHeading"] h1, [data-testid="stHeading"] h2,'
    + ' [data-testid="stHeading"] h3';
  document.querySelectorAll(cut).forEach((node) => {
    if (node.clientWidth > 0 && node.scrollWidth > node.clientWidth + 1)
      problems.push(`"${node.textContent.slice(0, 40)}" cut off`);
  });
  return problems;
}"""
#: the fill of each background a chart draws behind its plot or map, as painted
BACKGROUNDS = """() => Array.from(document.querySelectorAll(
    '[data-testid="stPlotlyChart"] .main-svg, [data-testid="stPlotlyChart"] .bglayer rect,'
    + ' [data-testid="stPlotlyChart"] .geolayer rect.bg')).map((node) => {
  const style = getComputedStyle(node);
  return node.tagName === 'svg' ? [style.backgroundColor, '1']
                                : [style.fill, style.fillOpacity];
})"""
WHITE = "rgb(255, 255, 255)"
#: charts whose node labels may run past a phone's edge: the whole dbt graph (60 nodes in
#: five columns) cannot fit 390 px; its picker and upstream / downstream lists are the
#: phone's way through it
DENSE_CHARTS = {"lineage"}
#: (page, text around a displayed percentage, query of the stored fraction it shows)
PERCENTAGES = (
    ("finance", r"covered ([\d.]+) ?% of back-test",
     "select coverage_80 from marts.mart_redemption_forecast_accuracy"),
    ("product", r"Stickiness\s+([\d.]+) ?%",
     "select stickiness from marts.mart_daily_engagement order by activity_date desc limit 1"),
)


def _stored_percentages(snapshot: Path) -> dict[str, float]:
    """Each checked percentage as stored (a fraction), times 100."""
    import duckdb

    with duckdb.connect(str(snapshot), read_only=True) as con:
        return {query: float(con.execute(query).fetchone()[0]) * 100
                for _page, _pattern, query in PERCENTAGES}


def _percentage_problems(path: str, text: str, stored: dict[str, float]) -> list[str]:
    """A displayed percentage off its stored value by more than its rounding (one decimal)
    or a unit factor: the "2,611.74 %" for 26.1 kind of error."""
    problems = []
    for page, pattern, query in PERCENTAGES:
        if page != path:
            continue
        found = re.search(pattern, text.replace(WORD_JOINER, ""))
        if found is None:
            problems.append(f"{page}: no percentage matching {pattern!r}")
        elif abs(float(found.group(1)) - stored[query]) > 0.05 + 1e-9:
            problems.append(f"{page}: {found.group(0)!r} shown, {stored[query]:.3f} % stored")
    return problems


@pytest.mark.pipeline_run
@pytest.mark.parametrize("theme", THEMES)
def test_every_page_fits_a_desktop_and_a_phone_in_the_theme(
        tiny_run, tmp_path: Path, theme: str) -> None:
    """Every page at 1,400 and 390 px: no exception, no sideways scrolling, no chart text,
    link, metric or heading cut off, the US map drawn, the percentages checked equal to
    their stored value; in the dark theme no chart (the map included) keeps a white
    background."""
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("CARTON_CAPS_SCREENSHOT_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    stored = _stored_percentages(tiny_run.snapshot)
    with serve_home(tiny_run.home, tmp_path / "streamlit.log", "--theme.base", theme) as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                for _section, _file, _title, path in ui.PAGE_SPECS:
                    where = f"{path} at {width} px, {theme}"
                    page.goto(f"{url}/{ui.page_url_path(path)}", timeout=PAGE_TIMEOUT_MS)
                    page.wait_for_selector(
                        '[data-testid="stApp"][data-test-script-state="notRunning"]',
                        timeout=PAGE_TIMEOUT_MS)
                    page.wait_for_timeout(1500)  # let Plotly finish drawing
                    page.screenshot(path=str(shots / f"{path}-{width}-{theme}.png"),
                                    full_page=True)
                    problems += [f"{where}: {problem}"
                                 for problem in page.evaluate(LAYOUT_PROBLEMS, width)
                                 if not (path in DENSE_CHARTS and "cut at the edge" in problem)]
                    white = [fill for fill, opacity in page.evaluate(BACKGROUNDS)
                             if fill == WHITE and float(opacity) > 0]
                    if theme == "dark" and white:
                        problems.append(f"{where}: {len(white)} white chart background(s)")
                    problems += _percentage_problems(path, page.inner_text("body"), stored)
                    if path == "finance" and not page.locator("path.choroplethlocation").count():
                        problems.append(f"{where}: the US map drew no states")
                    if page.locator('[data-testid="stException"]').count():
                        problems.append(f"{where}: exception block shown")
                page.close()
        finally:
            browser.close()
    assert problems == []
