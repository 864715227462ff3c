"""A run's parameters from the environment: CARTON_CAPS_HOME, _USERS, _SEED and _ENGINE stand
in for their flags, a flag wins, and a value from the environment is checked by the same
strict rules as the flag, its message naming the variable."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import pytest

from foundation import run_env
from foundation.paths import REPO_ROOT
from foundation.run_env import DEFAULT_DASHBOARD_PORT
from pipeline.alerts.settings import AlertSettings
from pipeline.lifecycle.step_types import RunConfig
from pipeline.records.run_manifest import RunManifest
from pipeline.run_pipeline import UsageError, _summary, build_parser, config_from_args


def config(argv: list[str], env: dict[str, str]) -> RunConfig:
    return config_from_args(build_parser().parse_args(["--as-of", "2026-11-01", *argv]), env)


def test_the_environment_gives_the_parameters(tmp_path: Path) -> None:
    env = {"CARTON_CAPS_HOME": str(tmp_path), "CARTON_CAPS_USERS": "1000",
           "CARTON_CAPS_SEED": "9", "CARTON_CAPS_ENGINE": "spark"}
    got = config([], env)
    assert (got.home, got.users, got.seed, got.engine) == (tmp_path.resolve(), 1000, 9, "spark")


def test_a_flag_wins_over_its_variable(tmp_path: Path) -> None:
    env = {"CARTON_CAPS_HOME": "/nowhere", "CARTON_CAPS_USERS": "1000",
           "CARTON_CAPS_SEED": "9", "CARTON_CAPS_ENGINE": "spark"}
    got = config(["--home", str(tmp_path), "--users", "300", "--seed", "7",
                  "--engine", "duckdb"], env)
    assert (got.home, got.users, got.seed, got.engine) == (tmp_path.resolve(), 300, 7, "duckdb")


def test_without_flags_or_variables_the_defaults_hold() -> None:
    got = config([], {"CARTON_CAPS_USERS": ""})  # an empty variable is unset
    assert (got.home, got.users, got.seed, got.engine) == (REPO_ROOT, 20_000, 42, "duckdb")


@pytest.mark.parametrize(("env", "message"), [
    ({"CARTON_CAPS_USERS": "1_000"},
     "CARTON_CAPS_USERS must be a whole number written with the digits 0-9, got '1_000'"),
    ({"CARTON_CAPS_USERS": "٣٠٠"},
     "CARTON_CAPS_USERS must be a whole number written with the digits 0-9, got '٣٠٠'"),
    ({"CARTON_CAPS_USERS": "0"}, "CARTON_CAPS_USERS must be a positive integer, got 0"),
    ({"CARTON_CAPS_SEED": "-1"}, "CARTON_CAPS_SEED must be"),
    ({"CARTON_CAPS_ENGINE": "Spark"},
     "CARTON_CAPS_ENGINE must be one of duckdb, spark, got 'Spark'"),
])
def test_a_bad_variable_is_refused_by_the_flags_rules(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as refused:
        config([], env)
    assert str(refused.value).startswith(message)


def test_a_home_variable_naming_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(UsageError, match=r"^CARTON_CAPS_HOME .* is not a directory$"):
        config([], {"CARTON_CAPS_HOME": str(afile)})


def _summary_lines(env: dict[str, str]) -> list[str]:
    """The lines a successful run prints, under ``env``."""
    manifest = RunManifest(run_id="r", status="success", started_at=None, home="/h",
                           params=None, artifacts={"manifest": "/h/logs/pipeline_r.json"})
    run = RunConfig(home=Path("/h"), run_id="r", seed=42, users=300,
                    as_of=date(2026, 11, 1), days=30)
    return _summary(manifest, run, env).splitlines()


@pytest.mark.parametrize(("env", "port"), [
    ({}, 8501), ({"PORT": ""}, 8501), ({"PORT": "9000"}, 9000), ({"PORT": "65535"}, 65535),
    ({"PORT": "1"}, 1),
    # a value the dashboard could not listen on: the summary names the default
    ({"PORT": "0"}, 8501), ({"PORT": "65536"}, 8501), ({"PORT": "-80"}, 8501),
    ({"PORT": "80x"}, 8501), ({"PORT": " 9000"}, 8501), ({"PORT": "٩٠٠٠"}, 8501),
])
def test_the_summary_names_the_port_make_dashboard_serves_on(
        env: dict[str, str], port: int) -> None:
    """``make run PORT=9000`` serves the dashboards on 9000 and hands PORT to the run."""
    assert f"  dashboards: make dashboard  (http://127.0.0.1:{port})" in _summary_lines(env)


@pytest.mark.parametrize(("address", "host"), [
    (None, "127.0.0.1"), ("", "127.0.0.1"), ("  ", "127.0.0.1"),
    # every interface: 127.0.0.1 answers too, and 0.0.0.0 is no address to browse to
    ("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"),
    ("192.168.1.20", "192.168.1.20"), (" 10.0.0.5 ", "10.0.0.5"), ("::1", "[::1]"),
    ("fe80:0:0::1", "[fe80::1]"), ("dash.internal", "dash.internal"),
    ("localhost", "localhost"),
    # not an address: never pasted into the URL
    ("evil.test/path?x=1", "127.0.0.1"), ("user@host", "127.0.0.1"),
    ("-bad.host", "127.0.0.1"), ("a b", "127.0.0.1"), ("[::1]", "127.0.0.1"),
    ("host:8080", "127.0.0.1"), ("x" * 254, "127.0.0.1"),
])
def test_the_summary_names_the_address_make_dashboard_serves_on(
        address: str | None, host: str) -> None:
    """``make run DASHBOARD_ADDRESS=192.168.1.20`` is reached at that address; the alert
    links (pipeline.alerts.settings) use the same URL."""
    env = {"PORT": "9000"} | ({} if address is None else {"DASHBOARD_ADDRESS": address})
    assert run_env.dashboard_url(env) == f"http://{host}:9000"
    assert f"  dashboards: make dashboard  (http://{host}:9000)" in _summary_lines(env)
    assert AlertSettings.from_env(env).dashboard_url == f"http://{host}:9000"


def test_make_dashboards_default_port_is_the_one_the_summary_names() -> None:
    printed = subprocess.run(
        ["make", "-n", "--no-print-directory", "dashboard", "VENV=.venv"], cwd=REPO_ROOT,
        # neither PORT nor an outer make's flags (make test PORT=9000 passes it in MAKEFLAGS)
        env={k: v for k, v in os.environ.items()
             if k not in ("PORT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}, capture_output=True,
        text=True, check=True).stdout
    assert f" --server.port {DEFAULT_DASHBOARD_PORT} " in printed
