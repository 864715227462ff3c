"""The environment variables a run reads, and how a flag, a variable and a default rank.

A scheduler (Dagster, cron, a CI job) sets a run's parameters in the environment, a person
types flags: both reach the same run. One rule for every parameter: a flag given on the
command line wins, then the environment variable, then the default. A value from the
environment is untrusted input exactly like a flag, so it is checked by the same strict
rules (:mod:`foundation.cli_values`), and a message about it names the variable, not a
flag the user never typed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from foundation.cli_values import CliValueError, whole_number

HOME_ENV = "CARTON_CAPS_HOME"
USERS_ENV = "CARTON_CAPS_USERS"
SEED_ENV = "CARTON_CAPS_SEED"
ENGINE_ENV = "CARTON_CAPS_ENGINE"
#: dbt's unit tests: ``cached`` or ``always`` (pipeline.lifecycle.step_types.UnitTestPolicy)
UNIT_TESTS_ENV = "CARTON_CAPS_UNIT_TESTS"
#: where a run posts its alert: a secret (a Slack webhook's path is its credential), so it
#: is never written to a log, a manifest or a snapshot, nor passed to dbt or Spark
ALERT_WEBHOOK_ENV = "CARTON_CAPS_ALERT_WEBHOOK"
#: ``problems`` (default: failed, interrupted or warning runs) or ``all`` (healthy too)
ALERT_ON_ENV = "CARTON_CAPS_ALERT_ON"
#: the dashboards' base URL that an alert's links point at
DASHBOARD_URL_ENV = "CARTON_CAPS_DASHBOARD_URL"
#: the dashboards' port: ``make dashboard`` serves on ``$(PORT)`` (the Makefile's
#: ``PORT ?= 8501``), and make hands a PORT given to it on to the run it starts
DASHBOARD_PORT_ENV = "PORT"
DEFAULT_DASHBOARD_PORT = 8501
#: the non-loopback address the dashboard is opted in to serve (e.g. 0.0.0.0); unset, it
#: listens on 127.0.0.1 (streamlit_app.serving)
DASHBOARD_ADDRESS_ENV = "DASHBOARD_ADDRESS"
DEFAULT_DASHBOARD_HOST = "127.0.0.1"
#: variables holding secrets: child processes that log (dbt, Spark) never receive them
SECRET_ENV_NAMES = frozenset({ALERT_WEBHOOK_ENV})


@dataclass(frozen=True)
class Picked:
    """A parameter's text and where it came from (``label``: the flag or the variable)."""

    text: str
    label: str


def pick(flag: str, flag_value: str | None, env: Mapping[str, str], env_name: str,
         default: str) -> Picked:
    """The flag's value if given, else the environment's (an empty variable counts as
    unset, as shells leave them), else the default (labelled with the flag)."""
    if flag_value is not None:
        return Picked(flag_value, flag)
    from_env = env.get(env_name)
    if from_env is not None and from_env != "":
        return Picked(from_env, env_name)
    return Picked(default, flag)


def dashboard_port(env: Mapping[str, str]) -> int:
    """The port ``make dashboard`` serves on, for the run's summary to name: ``PORT`` when
    it is a port number (1-65535, digits only), else :data:`DEFAULT_DASHBOARD_PORT`. Only a
    hint is at stake, so a value the dashboard could not use falls back instead of failing
    the run."""
    try:
        port = whole_number(DASHBOARD_PORT_ENV, env.get(DASHBOARD_PORT_ENV) or "")
    except CliValueError:
        return DEFAULT_DASHBOARD_PORT
    return port if 1 <= port <= 65535 else DEFAULT_DASHBOARD_PORT


#: a DNS host name: dot-separated labels of letters, digits and inner hyphens
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def dashboard_host(env: Mapping[str, str]) -> str:
    """The host a browser reaches ``make dashboard`` at, as a URL writes it.

    ``DASHBOARD_ADDRESS`` when it names one address: an IP address (IPv6 in brackets) or
    a host name. Unset, empty, an any-interface address (0.0.0.0, ::), or a value that is
    no address at all: 127.0.0.1, where the dashboard listens by default and which an
    any-interface server answers too. Untrusted text never reaches the URL.
    """
    text = (env.get(DASHBOARD_ADDRESS_ENV) or "").strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text if _HOST_NAME.match(text) else DEFAULT_DASHBOARD_HOST
    if address.is_unspecified:
        return DEFAULT_DASHBOARD_HOST
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def dashboard_url(env: Mapping[str, str]) -> str:
    """The dashboards' base URL with no trailing slash, for the run's summary and the
    alerts' links: :func:`dashboard_host` and :func:`dashboard_port`."""
    return f"http://{dashboard_host(env)}:{dashboard_port(env)}"
