"""``python -m streamlit_app [streamlit run options]``: serve the dashboards on 127.0.0.1.

The launcher ``make dashboard`` uses. It passes ``--server.address`` itself, which beats
every config file and ``STREAMLIT_SERVER_ADDRESS``: 127.0.0.1, or the address in
``DASHBOARD_ADDRESS`` (the opt-in to serving a network, e.g. 0.0.0.0). An address given
any other way is refused here (exit 2) and, if Streamlit is started without this
launcher, by app.py itself (streamlit_app/serving.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from streamlit.web import cli

from streamlit_app.serving import LOOPBACK, OPT_IN, opted_in_address

APP = Path(__file__).resolve().parent / "app.py"


class LaunchError(ValueError):
    """Arguments the launcher refuses; the message says why."""


def streamlit_args(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The ``streamlit`` arguments: run app.py on the allowed address, then ``argv``."""
    for arg in argv:
        if arg == "--server.address" or arg.startswith("--server.address="):
            raise LaunchError(f"the address is not an option here: set {OPT_IN} "
                              f"(e.g. {OPT_IN}=0.0.0.0) to serve another one than {LOOPBACK}")
    address = opted_in_address(environ) or LOOPBACK
    return ["run", str(APP), "--server.address", address, *argv]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = streamlit_args(sys.argv[1:] if argv is None else argv, os.environ)
    except LaunchError as exc:
        print(f"python -m streamlit_app: {exc}", file=sys.stderr)
        return 2
    try:
        cli.main(args=args, prog_name="streamlit")
    except SystemExit as exc:  # click ends every command with sys.exit
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
