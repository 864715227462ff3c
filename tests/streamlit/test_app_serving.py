"""`make dashboard` serves loopback only, without Streamlit's Deploy button, unless opted in.

The command is taken from the Makefile itself (``make -n``, so the venv recipe is printed,
not run) and started from the repository root, where ``.streamlit/config.toml`` is read.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from foundation.paths import REPO_ROOT
from tests.streamlit.test_app_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_MS,
    _free_port,
    _wait_healthy,
)

VENV = Path(sys.executable).parent.parent
LISTEN_TIMEOUT_S = 30


def make_dashboard_command(port: int, **variables: str) -> list[str]:
    """The streamlit command ``make dashboard`` runs, as argv (``make -n`` prints it)."""
    assignments = [f"{name}={value}" for name, value in
                   {"VENV": str(VENV), "PORT": str(port), **variables}.items()]
    printed = subprocess.run(["make", "-n", "--no-print-directory", "dashboard", *assignments],
                             cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                             env={k: v for k, v in os.environ.items()
                                  if k != "DASHBOARD_ADDRESS"}).stdout
    command = printed.replace("\\\n", " ").strip().splitlines()[-1]
    return shlex.split(command)


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


@pytest.fixture
def make_dashboard(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """``make dashboard``'s command on a free port, against an empty home; stopped after."""
    port = _free_port()
    log_path = tmp_path / "streamlit.log"
    env = {**os.environ, "CARTON_CAPS_HOME": str(tmp_path)}
    with log_path.open("w") as log:
        process = subprocess.Popen(make_dashboard_command(port), cwd=REPO_ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process, f"http://127.0.0.1:{port}", log_path
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_make_dashboard_listens_on_loopback_only(make_dashboard) -> None:
    process, url, log_path = make_dashboard
    _wait_healthy(url, process)
    assert listening_addresses(process.pid) == {"127.0.0.1"}
    log = log_path.read_text()
    assert f"URL: {url}" in log
    assert "Network URL" not in log


def test_serving_the_network_is_an_explicit_make_variable() -> None:
    assert "--server.address" not in make_dashboard_command(8501)
    command = make_dashboard_command(8501, DASHBOARD_ADDRESS="0.0.0.0")
    assert command[command.index("--server.address") + 1] == "0.0.0.0"


def test_dashboard_config_hides_the_developer_toolbar() -> None:
    """Streamlit started from the repository root reads toolbarMode "viewer": no Deploy."""
    probe = ("from streamlit import config; "
             "print(config.get_option('client.toolbarMode'), "
             "config.get_option('server.address'))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["viewer", "127.0.0.1"]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
def test_make_dashboard_hides_the_deploy_button(make_dashboard) -> None:
    from playwright.sync_api import sync_playwright

    process, url, _log = make_dashboard
    _wait_healthy(url, process)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector("h1", timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector('[data-testid="stMainMenu"]', timeout=PAGE_TIMEOUT_MS)
            assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
        finally:
            browser.close()
