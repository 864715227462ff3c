"""Logging for one run: everything to ``logs/pipeline_<run_id>.log``, progress to the console.

Only the pipeline configures handlers; every other module just logs to its own logger.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

CONSOLE_FORMAT = "%(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RunLogHandler(logging.FileHandler):
    """The run's log file; when a write fails (a full disk), it says so once and stops.

    The standard handler prints a traceback for every record it cannot write: on a full
    disk, dbt's streamed output turned that into tens of thousands of tracebacks.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.failure is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if self.failure is not None:
            return
        error = sys.exc_info()[1]
        self.failure = f"{type(error).__name__}: {error}" if error else "unknown error"
        sys.stderr.write(f"run log {self.baseFilename} stopped: {self.failure}\n")


#: a record's ``extra`` key holding a shorter console line: a step's failure is written in
#: full to the log, while the console says it once, in the run's final summary
CONSOLE_TEXT = "console_text"


class ConsoleFormatter(logging.Formatter):
    """Progress lines: the record's message, or its shorter console text when it has one."""

    def format(self, record: logging.LogRecord) -> str:
        short = getattr(record, CONSOLE_TEXT, None)
        return short if isinstance(short, str) else super().format(record)


#: libraries whose records below this level are their own debugging, not the run's story
#: (OpenLineage's transport announces every event it writes; Faker its providers)
LIBRARY_LEVELS = {"openlineage": logging.WARNING, "faker": logging.WARNING}


def configure(log_path: Path, *, quiet: bool = False,
              filters: Sequence[logging.Filter] = ()) -> list[logging.Handler]:
    """Attach this run's handlers to the root logger; returns them for ``detach``.

    ``filters`` go on every handler, before anything is written: the CLI passes the
    object-storage redaction (``pipeline.storage.redact.RedactingFilter``), so no
    credential a library logs reaches the run's log or the console.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = RunLogHandler(log_path)
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
    handlers: list[logging.Handler] = [file_handler]
    if not quiet:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.INFO)
        console.setFormatter(ConsoleFormatter(CONSOLE_FORMAT))
        console.addFilter(lambda record: record.name.startswith("pipeline"))
        handlers.append(console)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for name, level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    for handler in handlers:
        for log_filter in filters:
            handler.addFilter(log_filter)
        root.addHandler(handler)
    return handlers


def detach(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        with contextlib.suppress(OSError):  # flushing onto a full disk: already said so
            handler.close()
