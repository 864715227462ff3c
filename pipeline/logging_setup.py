"""Logging for one run: everything to ``logs/pipeline_<run_id>.log``, progress to the console.

Only the pipeline configures handlers; every other module just logs to its own logger.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

CONSOLE_FORMAT = "%(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure(log_path: Path, *, quiet: bool = False) -> list[logging.Handler]:
    """Attach this run's handlers to the root logger; returns them for ``detach``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(log_path, encoding="utf-8")
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
    handlers: list[logging.Handler] = [file_handler]
    if not quiet:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.INFO)
        console.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        console.addFilter(lambda record: record.name.startswith("pipeline"))
        handlers.append(console)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    return handlers


def detach(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()
