"""What a load reports: the error it raises and the report it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_MAX_REJECT_SHARE = 0.01
REJECTS_SAMPLE = 20  # rejected records a failed load hands back (LoadError.rejects)
MAX_SAMPLE_TEXT = 1000  # characters of the raw line kept per sampled record

STATUS_OK = "ok"
STATUS_WARN = "warn"


class LoadError(Exception):
    """A load that cannot complete; ``str(err)`` is the one-line user-facing message.

    ``table`` names the source table at fault when there is one; ``rejects`` holds up to
    :data:`REJECTS_SAMPLE` rejected records when a table exceeded the reject threshold
    (dicts with ``table_name, source_file, line, column_name, error_type, reason,
    raw_text``, raw text cut to :data:`MAX_SAMPLE_TEXT` characters), else is empty.
    """

    def __init__(self, message: str, *, table: str | None = None,
                 rejects: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.table = table
        self.rejects: tuple[dict[str, Any], ...] = tuple(rejects)[:REJECTS_SAMPLE]


@dataclass(frozen=True)
class TableLoad:
    """What happened to one source table (one row of ``ops.ingestion_log``)."""

    table: str
    source_file: str
    rows_loaded: int
    rows_rejected: int
    sha256: str
    bytes: int
    duration_s: float
    status: str
    source_system: str = ""
    started_at: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class LoadReport:
    """The outcome of a successful load; the pipeline copies it into the manifest."""

    run_id: str
    ingested_at: datetime
    tables: tuple[TableLoad, ...]
    schema_drift: tuple[dict, ...]
    warnings: tuple[str, ...]
    db_path: Path | None = None
    duration_s: float = 0.0

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.tables)

