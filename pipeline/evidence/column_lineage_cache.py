"""Each model's column lineage read once per SQL, not once per run.

Reading a model's compiled SQL with sqlglot (pipeline/evidence/column_lineage.py) is pure
Python, about 25 ms a model: 1.3 s of every run's end, after the snapshot is published
and before the run's process can exit. Its result depends only on the SQL, the columns of
the relations it may read, the reader's code and sqlglot's version, and a run of
unchanged code compiles the same SQL against the same columns as the run before. So
results are kept in ``logs/openlineage/.column_lineage.json``, keyed by a hash of all four,
and a model whose key is there is not read again.

The file is untrusted input, as everything read from a home: a file that is not a
well-formed record is ignored whole, and an entry is used only when every output column
it names is one of its model's columns and every input one of the columns its model may
read, so an edited file cannot put any other name into the published events (it can
still misstate which of those columns feed which, as anyone who can write the home can
edit the events themselves). It holds the entries of the last run only, so it never grows
beyond one project's models; it only saves time, so a file that cannot be read or written
is a debug line, never a failure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlglot

from foundation import untrusted_files
from pipeline.evidence import column_lineage
from pipeline.evidence.column_lineage import Leaf, Relation
from pipeline.records.pointer import write_atomically

logger = logging.getLogger(__name__)

CACHE_FILE = ".column_lineage.json"
_FORMAT = 1
_KEY = re.compile(r"[0-9a-f]{64}")
_CACHE_LIMIT = 16 * 1024**2
#: a model's output column -> the relation columns it is computed from
Lineage = dict[str, frozenset[Leaf]]


#: sqlglot's optional compiled parts, which read the same SQL through other code
_SQLGLOT_EXTRAS = ("sqlglotrs", "sqlglotc")


def _reader_version() -> str:
    """The reader's own code and the versions of sqlglot and its compiled parts: a change
    to any may change what the same SQL reads as, so it makes every key new."""
    source = Path(column_lineage.__file__).read_bytes()
    versions = [f"sqlglot={sqlglot.__version__}"]
    for name in _SQLGLOT_EXTRAS:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return " ".join([hashlib.sha256(source).hexdigest(), *versions])


def entry_key(sql: str, columns: Mapping[Relation, Sequence[str]], reader: str) -> str:
    """The key of one model's lineage: its SQL, the relations and columns it may read,
    and the reader's version."""
    document = {"sql": sql, "reader": reader,
                "columns": sorted([db, table, list(names)]
                                  for (db, table), names in columns.items())}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class ColumnLineageCache:
    """The home's cached lineage: read once, looked up per model, written back once."""

    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self._home = home
        self._reader = _reader_version()
        self._cached = self._read()
        self._used: dict[str, Lineage] = {}
        self.hits = 0
        #: whether any model was read rather than taken from the file
        self._missed = False

    def _read(self) -> dict[str, Any]:
        """The file's entries when it is a well-formed record, else none."""
        if not self.path.exists():
            return {}
        try:
            document = untrusted_files.read_json(self.path, home=self._home,
                                                 limit=_CACHE_LIMIT)
        except (OSError, ValueError) as exc:
            logger.debug("column-lineage cache ignored: %s", exc)
            return {}
        entries = document.get("entries") if isinstance(document, dict) else None
        kind = document.get("format") if isinstance(document, dict) else None
        if (not isinstance(entries, dict) or type(kind) is not int or kind != _FORMAT
                or not all(isinstance(k, str) and _KEY.fullmatch(k) for k in entries)):
            logger.debug("column-lineage cache ignored: %s is not a record of this format",
                         self.path.name)
            return {}
        return entries

    def lineage(self, sql: str, columns: Mapping[Relation, Sequence[str]],
                outputs: Sequence[str],
                read: Callable[[str, Mapping[Relation, Sequence[str]]], Lineage]) -> Lineage:
        """The lineage of ``sql`` over ``columns``: the cached entry when there is a valid
        one (``outputs``: the model's own columns), else ``read(sql, columns)`` (which may
        raise; nothing is kept then)."""
        key = entry_key(sql, columns, self._reader)
        found = _valid_entry(self._cached.get(key), columns, outputs)
        if found is not None:
            self.hits += 1
        else:
            found = read(sql, columns)
            self._missed = True
        self._used[key] = found
        return found

    def store(self) -> None:
        """Replace the file by this run's entries (best effort: the cache only saves
        time). A run that read no model, or took every model from the file and used all
        of its entries (the code did not change), leaves the file as it was."""
        if not self._used or (not self._missed and self._used.keys() == self._cached.keys()):
            return
        document = {"format": _FORMAT, "entries": {
            key: {column: sorted(list(leaf) for leaf in leaves)
                  for column, leaves in lineage.items()}
            for key, lineage in self._used.items()}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(document, sort_keys=True))
        except OSError as exc:  # the previous file, if any, is left whole
            logger.debug("column-lineage cache not written: %s", exc)


def _valid_entry(entry: Any, columns: Mapping[Relation, Sequence[str]],
                 outputs: Sequence[str]) -> Lineage | None:
    """A cached entry as lineage, when each of its output columns is one of ``outputs``
    (in any case, as the SQL may spell it) and each of its leaves a column the model may
    read; None for anything else (then the SQL is read again)."""
    if not isinstance(entry, dict):
        return None
    own = {name.lower() for name in outputs}
    readable = {(db, table, column) for (db, table), names in columns.items()
                for column in names}
    lineage: Lineage = {}
    for column, leaves in entry.items():
        if not (isinstance(column, str) and column.lower() in own
                and isinstance(leaves, list) and leaves):
            return None
        found = set()
        for leaf in leaves:
            if not (isinstance(leaf, list) and len(leaf) == 3
                    and all(isinstance(part, str) for part in leaf)):
                return None
            if tuple(leaf) not in readable:
                return None
            found.add((leaf[0], leaf[1], leaf[2]))
        lineage[column] = frozenset(found)
    return lineage
