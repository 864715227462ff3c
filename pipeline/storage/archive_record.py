"""The archive's layout, a run's record in it, and which archived run ``LATEST`` names.

Layout below the archive prefix::

    LATEST                                     one line: the run id served by default
    runs/<run_id>/ARCHIVED.json                the run's record, written last
    runs/<run_id>/duckdb/carton_caps_<run_id>.duckdb
    runs/<run_id>/logs/pipeline_<run_id>.json  (and .log, schema_<run_id>.json)
    runs/<run_id>/logs/dbt/<run_id>/target/{run_results,manifest,sources}.json
    runs/<run_id>/logs/dbt/<run_id>/logs/dbt.log

Below ``runs/<run_id>/`` the paths are those of the run's home, so a second machine that
downloads them has a home the existing readers (manifests, dbt artefacts, the dashboards)
open unchanged. The record lists every file with its size and sha256; it is written only
after every file is complete, so a run without a record is an archive cut short and is
neither listed nor served. Everything read back from the bucket is untrusted: a record is
parsed strictly, and only the paths :func:`run_files` gives for its run id are accepted,
so a planted record can never name a path outside the run's files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from foundation.paths import snapshot_file_name
from foundation.run_id import RUN_ID_PATTERN
from pipeline.records.publication_order import OrderKey, order_key
from pipeline.storage.errors import ArchiveRecordError
from pipeline.storage.objects import is_sha256

RECORD_VERSION = 1
RUNS_FOLDER = "runs"
RECORD_NAME = "ARCHIVED.json"
LATEST_NAME = "LATEST"
#: a record of a run with a handful of files is a few KB; more is not one the pipeline wrote
RECORD_LIMIT = 256 * 1024
#: ``LATEST`` holds one run id
LATEST_LIMIT = 4096

_AS_OF = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: manifests write UTC instants as ``2026-11-27T06:24:01.123+00:00`` (sortable as text)
_INSTANT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}\+00:00$")


def run_files(run_id: str) -> tuple[tuple[str, bool], ...]:
    """Home-relative paths of the files a run archives, and whether each is required.

    The snapshot goes last: it is the largest, and a cut upload then costs least.
    """
    dbt = f"logs/dbt/{run_id}"
    return (
        (f"logs/pipeline_{run_id}.json", True),
        (f"logs/pipeline_{run_id}.log", False),
        (f"logs/schema_{run_id}.json", False),
        (f"{dbt}/target/run_results.json", False),
        (f"{dbt}/target/manifest.json", False),
        (f"{dbt}/target/sources.json", False),
        (f"{dbt}/logs/dbt.log", False),
        (snapshot_path(run_id), True),
    )


def snapshot_path(run_id: str) -> str:
    return f"duckdb/{snapshot_file_name(run_id)}"


def manifest_path(run_id: str) -> str:
    return f"logs/pipeline_{run_id}.json"


@dataclass(frozen=True)
class ArchivedFile:
    """One file of an archived run: home-relative path, size and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ArchivedRun:
    """A run's record in the archive (``runs/<run_id>/ARCHIVED.json``)."""

    run_id: str
    as_of: str
    started_at: str
    published_at: str
    archived_at: str
    files: tuple[ArchivedFile, ...]

    @property
    def order(self) -> OrderKey:
        """Its place by the pointer's rule (pipeline/records/publication_order.py)."""
        return order_key(self.as_of, self.started_at, self.run_id)

    def file(self, path: str) -> ArchivedFile:
        for item in self.files:
            if item.path == path:
                return item
        raise ArchiveRecordError(f"run {self.run_id}'s archive record lists no {path}")

    @property
    def snapshot(self) -> ArchivedFile:
        return self.file(snapshot_path(self.run_id))

    def to_json(self) -> bytes:
        document = {
            "record_version": RECORD_VERSION, "run_id": self.run_id, "as_of": self.as_of,
            "started_at": self.started_at, "published_at": self.published_at,
            "archived_at": self.archived_at,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256}
                      for f in self.files],
        }
        return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def newest(runs: Iterable[ArchivedRun]) -> ArchivedRun | None:
    """The run ``LATEST`` should name among ``runs`` (None when there are none)."""
    return max(runs, key=lambda run: run.order, default=None)


def _text(document: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{name} is missing or malformed")
    return value


def parse_record(data: bytes, run_id: str, *, shown: str) -> ArchivedRun:
    """A record read from the bucket, checked field by field; ``shown`` names the object.

    Raises ArchiveRecordError (never quoting the content) when it is not valid JSON, is
    of another run, or lists a file that is not one of the run's files.
    """
    try:
        document = json.loads(data.decode("utf-8"))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        if document.get("record_version") != RECORD_VERSION:
            raise ValueError("unknown record_version")
        if document.get("run_id") != run_id:
            raise ValueError("holds another run id than its key gives")
        allowed = {path for path, _ in run_files(run_id)}
        files = []
        for item in document.get("files") or ():
            if not isinstance(item, dict) or item.get("path") not in allowed:
                raise ValueError("lists a file that is not one of the run's files")
            size = item.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ValueError(f"{item['path']}: size is not a whole number")
            if not is_sha256(item.get("sha256")):
                raise ValueError(f"{item['path']}: sha256 is malformed")
            files.append(ArchivedFile(item["path"], size, item["sha256"]))
        if len({f.path for f in files}) != len(files):
            raise ValueError("lists a file twice")
        record = ArchivedRun(
            run_id=run_id, as_of=_text(document, "as_of", _AS_OF),
            started_at=_text(document, "started_at", _INSTANT),
            published_at=_text(document, "published_at", _INSTANT),
            archived_at=_text(document, "archived_at", _INSTANT), files=tuple(files))
        for path, required in run_files(run_id):
            if required:
                record.file(path)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchiveRecordError(f"{shown} is not valid JSON (truncated or damaged): "
                                 "refused") from None
    except (ValueError, ArchiveRecordError) as exc:
        raise ArchiveRecordError(f"{shown} is not a valid archive record ({exc}): "
                                 "refused") from None
    return record


def parse_latest(data: bytes, *, shown: str) -> str:
    """The run id ``LATEST`` names; ArchiveRecordError when it holds anything else."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    if not RUN_ID_PATTERN.fullmatch(text):
        raise ArchiveRecordError(f"{shown} is corrupt: it does not hold a run id")
    return text


def check_instant(value: str, name: str) -> str:
    """``value`` if it is a UTC instant as manifests write it (so instants sort as text)."""
    if not _INSTANT.fullmatch(value):
        raise ArchiveRecordError(f"{name} {value[:40]!r} is not a UTC instant as manifests "
                                 "write it")
    return value


def check_as_of(value: str) -> str:
    if not _AS_OF.fullmatch(value):
        raise ArchiveRecordError(f"as-of {value[:40]!r} is not written YYYY-MM-DD")
    return value
