"""Where the dashboard may listen: loopback, or the address the operator opted in to.

There is no login and Pipeline Ops shows home paths, host names, process ids and log
tails, so the dashboard serves 127.0.0.1 unless ``DASHBOARD_ADDRESS`` names another
address. Streamlit takes ``server.address`` from, later winning: ``~/.streamlit/config.toml``,
``./.streamlit/config.toml`` (the working directory's), ``streamlit_app/.streamlit/config.toml``
(beside the script: 127.0.0.1), ``STREAMLIT_SERVER_ADDRESS`` and ``--server.address``.
``python -m streamlit_app`` passes the flag itself; :func:`refuse_unless_allowed` covers
every other way of starting it (a flag or environment variable set by hand), refusing to
show data when the address is neither loopback nor the opted-in one.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping

import streamlit as st
from streamlit import config

from foundation.run_env import DASHBOARD_ADDRESS_ENV, DEFAULT_DASHBOARD_HOST
from streamlit_app.literal import cut, md

logger = logging.getLogger(__name__)

#: the environment variable naming a non-loopback address to serve (e.g. 0.0.0.0)
OPT_IN = DASHBOARD_ADDRESS_ENV
LOOPBACK = DEFAULT_DASHBOARD_HOST


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for an unset address (Streamlit
    then listens on every interface) and for any other host name."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip()).is_loopback
    except ValueError:
        return False


def opted_in_address(environ: Mapping[str, str] | None = None) -> str | None:
    """The address ``DASHBOARD_ADDRESS`` opts in to, None when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(OPT_IN, "").strip()
    return value or None


def refusal(address: str | None, opted_in: str | None) -> str | None:
    """Why the dashboard must not serve data on ``address`` (None: it may)."""
    if is_loopback(address) or (opted_in is not None and address == opted_in):
        return None
    where = f"address {cut(address)}" if address else "every interface (server.address is unset)"
    return (f"Not serving data: this dashboard listens on {where}, which is not loopback, and "
            f"{OPT_IN} does not opt in to it. There is no login and Pipeline Ops shows host "
            "names, process ids and log tails. Start it with make dashboard or python -m "
            "streamlit_app (127.0.0.1); to serve a trusted network, make dashboard "
            f"{OPT_IN}=0.0.0.0.")


def refuse_unless_allowed() -> None:
    """Show one error and stop the script when the server's address is not allowed.

    AppTest runs the script without a server (it sets Streamlit's ``global.appTest``
    through ``config.get_option``), so there is no address to check there.
    """
    if config.get_option("global.appTest"):
        return
    problem = refusal(config.get_option("server.address"), opted_in_address())
    if problem is None:
        return
    logger.error(problem)
    st.error(md(problem, len(problem)))
    st.stop()
