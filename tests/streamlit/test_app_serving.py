"""The dashboard listens on 127.0.0.1 however it is started, unless the operator opts in.

Real servers, started as an operator would: ``make dashboard``'s own command (taken from
the Makefile with ``make -n``, so the venv recipe is printed, not run), and a bare
``streamlit run <repo>/streamlit_app/app.py`` from another folder. Their listening
sockets are read with psutil; what a browser gets is read with Chromium.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from foundation.paths import REPO_ROOT
from streamlit_app import __main__ as launcher
from streamlit_app import serving
from tests.streamlit.test_app_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_MS,
    _free_port,
    _wait_healthy,
)

VENV = Path(sys.executable).parent.parent
APP = REPO_ROOT / "streamlit_app" / "app.py"
LISTEN_TIMEOUT_S = 30
REFUSED = "Not serving data"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian chromium is not installed")


def make_dashboard_command(port: int, **variables: str) -> tuple[dict[str, str], list[str]]:
    """The environment assignments and argv ``make dashboard`` runs (``make -n`` prints
    them), with the environment's own DASHBOARD_ADDRESS left out."""
    assignments = [f"{name}={value}" for name, value in
                   {"VENV": str(VENV), "PORT": str(port), **variables}.items()]
    printed = subprocess.run(["make", "-n", "--no-print-directory", "dashboard", *assignments],
                             cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                             env={k: v for k, v in os.environ.items()
                                  if k != serving.OPT_IN}).stdout
    words = shlex.split(printed.replace("\\\n", " ").strip().splitlines()[-1])
    env: dict[str, str] = {}
    while words and "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def listening_addresses(pid: int) -> set[str]:
    """IP addresses the process listens on (TCP), once it listens on any."""
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while time.monotonic() < deadline:
        found = {conn.laddr.ip for conn in psutil.Process(pid).net_connections(kind="inet")
                 if conn.status == psutil.CONN_LISTEN}
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"process {pid} never listened")


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen
    url: str
    log: Path


@contextlib.contextmanager
def serve(argv: list[str], port: int, tmp_path: Path, *, cwd: Path,
          env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start ``argv`` against an empty home; wait until it answers; stop it afterwards."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    log_path = tmp_path / "streamlit.log"
    environment = {k: v for k, v in os.environ.items()
                   if k != serving.OPT_IN and not k.startswith("STREAMLIT_")}
    environment |= {"CARTON_CAPS_HOME": str(home), **(env or {})}
    with log_path.open("w") as log:
        process = subprocess.Popen(argv, cwd=cwd, env=environment, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            server = Server(process, f"http://127.0.0.1:{port}", log_path)
            _wait_healthy(server.url, process)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def streamlit_run(port: int) -> list[str]:
    """A bare ``streamlit run`` of the app by its absolute path, no address given."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.headless", "true", "--server.fileWatcherType", "none"]


@dataclass(frozen=True)
class Page:
    headings: list[str]
    errors: list[str]
    deploy_buttons: int


def open_in_chromium(url: str) -> Page:
    """What a browser shows at ``url`` once the script has run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector('[data-testid="stMainMenu"]', timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector(
                '[data-testid="stApp"][data-test-script-state="notRunning"]',
                timeout=PAGE_TIMEOUT_MS)
            return Page([h.inner_text() for h in page.locator("h1").all()],
                        [e.inner_text() for e in page.locator('[data-testid="stAlert"]').all()
                         if REFUSED in e.inner_text()],
                        page.locator('[data-testid="stAppDeployButton"]').count())
        finally:
            browser.close()


# --------------------------------------------------------------------------- loopback


def test_make_dashboard_listens_on_loopback_only(tmp_path: Path) -> None:
    port = _free_port()
    env, argv = make_dashboard_command(port)
    assert argv[1:3] == ["-m", "streamlit_app"] and env == {serving.OPT_IN: ""}
    with serve(argv, port, tmp_path, cwd=REPO_ROOT, env=env) as server:
        assert listening_addresses(server.process.pid) == {"127.0.0.1"}
        log = server.log.read_text()
        assert f"URL: {server.url}" in log
        assert "Network URL" not in log


@pytest.mark.pipeline_run
@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("cwd_config", [None, '[server]\naddress = "0.0.0.0"\n'],
                         ids=["plain-folder", "folder-config-says-every-interface"])
def test_streamlit_run_from_another_folder_listens_on_loopback_only(
        tmp_path: Path, cwd_config: str | None) -> None:
    """The issue's case: ``cd /tmp && streamlit run <repo>/streamlit_app/app.py``; the
    config beside the script holds, whatever the working directory's says."""
    folder = tmp_path / "elsewhere"
    (folder / ".streamlit").mkdir(parents=True)
    if cwd_config is not None:
        (folder / ".streamlit" / "config.toml").write_text(cwd_config)
    port = _free_port()
    with serve(streamlit_run(port), port, tmp_path, cwd=folder) as server:
        assert listening_addresses(server.process.pid) == {"127.0.0.1"}
        assert "Network URL" not in server.log.read_text()
        page = open_in_chromium(server.url)
    assert page.headings == ["Carton Caps Analytics"] and page.errors == []
    assert page.deploy_buttons == 0  # client.toolbarMode "viewer" holds there too


# --------------------------------------------------------------------------- opt-in


@pytest.mark.pipeline_run
@pytest.mark.browser
@needs_chromium
def test_an_address_set_by_hand_is_refused_without_the_opt_in(tmp_path: Path) -> None:
    port = _free_port()
    with serve(streamlit_run(port), port, tmp_path, cwd=tmp_path,
               env={"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}) as server:
        assert listening_addresses(server.process.pid) == {"0.0.0.0"}
        page = open_in_chromium(server.url)
        time.sleep(0.5)  # the log line is written as the page's script stops
        log = server.log.read_text()
    assert page.headings == []  # no page, no data: one error instead
    assert len(page.errors) == 1
    assert "listens on address 0.0.0.0, which is not loopback" in page.errors[0]
    assert "make dashboard DASHBOARD_ADDRESS=0.0.0.0" in page.errors[0]
    assert f"{REFUSED}: this dashboard listens on address 0.0.0.0" in log


@pytest.mark.pipeline_run
@pytest.mark.browser
@needs_chromium
def test_make_dashboard_with_the_opt_in_serves_the_network(tmp_path: Path) -> None:
    port = _free_port()
    env, argv = make_dashboard_command(port, DASHBOARD_ADDRESS="0.0.0.0")
    assert env == {serving.OPT_IN: "0.0.0.0"}
    with serve(argv, port, tmp_path, cwd=REPO_ROOT, env=env) as server:
        assert listening_addresses(server.process.pid) == {"0.0.0.0"}
        assert "Network URL" in server.log.read_text()
        page = open_in_chromium(server.url)
    assert page.headings == ["Carton Caps Analytics"] and page.errors == []


def test_the_launcher_takes_the_address_only_from_the_opt_in(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = launcher.streamlit_args(["--server.port", "1"], {})
    assert args == ["run", str(APP), "--server.address", "127.0.0.1", "--server.port", "1"]
    args = launcher.streamlit_args([], {serving.OPT_IN: " 0.0.0.0 "})
    assert args[2:4] == ["--server.address", "0.0.0.0"]
    assert launcher.main(["--server.address=0.0.0.0"]) == 2
    assert "set DASHBOARD_ADDRESS" in capsys.readouterr().err


@pytest.mark.parametrize(("address", "opted_in", "allowed"), [
    ("127.0.0.1", None, True), ("127.0.0.2", None, True), ("::1", None, True),
    ("localhost", None, True), (None, None, False), ("", None, False),
    ("0.0.0.0", None, False), ("::", None, False), ("192.168.1.5", None, False),
    ("example.org", None, False), ("0.0.0.0", "0.0.0.0", True),
    ("0.0.0.0", "192.168.1.5", False), ("192.168.1.5", "192.168.1.5", True),
])
def test_only_loopback_or_the_opted_in_address_may_serve_data(
        address: str | None, opted_in: str | None, allowed: bool) -> None:
    assert (serving.refusal(address, opted_in) is None) is allowed
