"""The dbt process of one run: parse once, then run each command it is sent on stdin.

Started by :mod:`pipeline.transform.session` as a child process (so a crash or a kill of dbt
never takes the orchestrator with it, and a signal to the run stops dbt). One process
serves ``dbt source freshness`` and ``dbt build``, another one the docs: Python, dbt's
imports and the parse are paid once per process instead of once per command, the parse
itself comes from the home's cache when the code has not changed
(:mod:`pipeline.transform.parse_cache`), and it happens as soon as the process starts,
which the run does before it generates data (and again as the build ends, for the docs).

A worker that will build (started with ``IDLE_IMPORTS_FLAG``) imports what the project's
Python models import (:func:`python_model_imports`) while it waits for its first command,
i.e. while the run generates and loads: statsmodels and its scipy alone take about 1.5 s of
the one core dbt's threads share, which the build no longer spends. It looks for a command
before each module, so a run already waiting for dbt is delayed by one import at most.

Protocol: argv holds ``IDLE_IMPORTS_FLAG`` or not, then the options every command shares
(project, profiles, target and log paths). Each stdin line is a JSON list, the command
(``["build"]``); dbt's output goes to stdout and the command ends with one line
``DONE_MARKER + exit code`` (0 success, 1 failing nodes, 2 dbt could not run, like dbt's
own CLI). Closing stdin ends the process.
"""

from __future__ import annotations

import ast
import importlib
import json
import select
import sys
import time
from collections.abc import Iterable, Sequence
from typing import IO, Any

DONE_MARKER = "\x1ecarton-caps-dbt-done "
#: the worker's own first argument (not dbt's): import the Python models' libraries while idle
IDLE_IMPORTS_FLAG = "--import-while-idle"
#: the line that says what the worker imported while it waited (in the run's log)
IDLE_IMPORTS_LINE = "imported while waiting for the first command: "


def _exit_code(result: Any) -> int:
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def python_model_imports(manifest: Any) -> list[str]:
    """The absolute module names the manifest's Python models import, anywhere in their code
    (a model may import a heavy library inside the function that needs it), first seen first."""
    names: dict[str, None] = {}
    for node in manifest.nodes.values():
        if getattr(node, "language", None) != "python":
            continue
        try:
            tree = ast.parse(node.raw_code)
        except SyntaxError:  # dbt reports the model's own error when it runs it
            continue
        for statement in ast.walk(tree):
            if isinstance(statement, ast.Import):
                names.update(dict.fromkeys(alias.name for alias in statement.names))
            elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                names[statement.module] = None
    return list(names)


def _command_waiting(stream: IO[str]) -> bool:
    """Whether a command can be read from ``stream`` now (True when that cannot be told)."""
    try:
        return bool(select.select([stream], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def import_while_idle(modules: Iterable[str], stream: IO[str]) -> list[str]:
    """Import ``modules`` one by one until a command is waiting on ``stream``; returns
    those imported. A module that fails to import is skipped: the model that needs it
    reports the error when it runs. Nothing may have been read from ``stream`` yet: the
    check asks its file descriptor, which knows nothing of lines already buffered above it
    (and on a system whose ``select`` takes no pipes it counts as waiting: no imports)."""
    imported = []
    for name in modules:
        if _command_waiting(stream):
            break
        try:
            importlib.import_module(name)
        except Exception:  # a warm-up, never a failure of its own
            continue
        imported.append(name)
    return imported


def main(argv: Sequence[str] | None = None) -> int:
    from dbt.cli.main import dbtRunner

    common = list(sys.argv[1:] if argv is None else argv)
    idle_imports = common[:1] == [IDLE_IMPORTS_FLAG]
    if idle_imports:
        del common[0]
    # parse at once, before the first command arrives: a worker started ahead of time
    # (pipeline.transform.session.DbtSession.start) parses while the run generates and loads.
    # Parse only: the command that follows writes manifest.json with its results.
    parsed = dbtRunner().invoke(["parse", "--no-write-json", *common])
    manifest = parsed.result if parsed.success else None
    if manifest is not None and idle_imports:
        started = time.perf_counter()
        imported = import_while_idle(python_model_imports(manifest), sys.stdin)
        sys.stdout.write(f"{IDLE_IMPORTS_LINE}{', '.join(imported) or 'nothing'} "
                         f"({time.perf_counter() - started:.1f} s)\n")
        sys.stdout.flush()
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
