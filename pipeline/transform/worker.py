"""The dbt process of one run: parse once, then run each command it is sent on stdin.

Started by :mod:`pipeline.transform.commands` as a child process (so a crash or a kill of dbt
never takes the orchestrator with it, and a signal to the run stops dbt). One process
serves ``dbt build`` and ``dbt source freshness``: Python, dbt's imports and the parse
are paid once per run instead of once per command, the parse itself comes from the
home's cache when the code has not changed (:mod:`pipeline.transform.parse_cache`), and it
happens as soon as the process starts, which the run does before it generates data.

Protocol: argv holds the options every command shares (project, profiles, target and log
paths). Each stdin line is a JSON list, the command (``["build"]``); dbt's output goes to
stdout and the command ends with one line ``DONE_MARKER + exit code`` (0 success, 1 failing
nodes, 2 dbt could not run, like dbt's own CLI). Closing stdin ends the process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

DONE_MARKER = "\x1ecarton-caps-dbt-done "


def _exit_code(result: Any) -> int:
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def main(argv: Sequence[str] | None = None) -> int:
    from dbt.cli.main import dbtRunner

    common = list(sys.argv[1:] if argv is None else argv)
    # parse at once, before the first command arrives: a worker started ahead of time
    # (pipeline.transform.commands.DbtSession.start) parses while the run generates and loads.
    # Parse only: the command that follows writes manifest.json with its results.
    parsed = dbtRunner().invoke(["parse", "--no-write-json", *common])
    manifest = parsed.result if parsed.success else None
    for line in sys.stdin:
        command = json.loads(line)
        if manifest is None:
            code = 2
        else:
            code = _exit_code(dbtRunner(manifest=manifest).invoke([*command, *common]))
        sys.stdout.write(f"{DONE_MARKER}{code}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
