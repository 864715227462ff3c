"""Where a load reads its source files from: a local folder, or anything the caller adapts.

The loader's rules (the preflight of :mod:`loader.plan`, the SQL of :mod:`loader.sql`) are
the same wherever the files are; only three things depend on the place: whether a file is
there and how large it is, the first bytes of a CSV (its header, checked before DuckDB
is touched), and how DuckDB reaches the CSV (a path, or an ``s3://`` URI once the
connection can read object storage). :class:`SourceFiles` is that seam. The loader ships
the local folder (:class:`LocalSourceFiles`); the pipeline adapts object storage to it
(``pipeline/steps/source_files.py``), so the loader itself never imports a storage client
and there is one copy of the plan logic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
from loader.report import LoadError


@dataclass(frozen=True)
class SourceFile:
    """One source file as the loader reads it.

    ``name`` is the file's name in the run's folder (stamped into ``_source_file``),
    ``location`` what DuckDB reads (a local path or an ``s3://`` URI), ``sha256`` the
    digest when the caller already knows it from the bytes (a file fetched and verified);
    when None the loader has it computed beside the load (:meth:`SourceFiles.digest`).
    """

    name: str
    location: str
    size: int
    sha256: str | None = None

    @property
    def local_path(self) -> Path | None:
        """The file on this machine, when ``location`` is one."""
        return None if "://" in self.location else Path(self.location)


class SourceFiles:
    """The source files of one run. Subclasses say where they are; the loader asks.

    ``where`` names the folder in messages (``app_events.csv: file not found in …``).
    """

    where: str = ""

    def file(self, name: str) -> SourceFile | None:
        """The file ``name`` (None when it is not there)."""
        raise NotImplementedError

    def read_head(self, file: SourceFile, size: int) -> bytes:
        """The first ``size`` bytes of ``file`` (fewer when it is shorter)."""
        raise NotImplementedError

    def digest(self, file: SourceFile) -> str:
        """The sha256 of the file's bytes, read beside the load (the loader asks only when
        ``file.sha256`` is None). A local file by default."""
        path = file.local_path
        if path is None:
            raise LoadError(f"{file.name}: no sha256 known for {file.location}")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let the load's connection read the CSV locations (nothing for local files)."""

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        """Undo :meth:`prepare` before the connection is closed."""

    def read_error(self, exc: duckdb.Error, file: SourceFile) -> str | None:
        """A one-line message for DuckDB failing to read ``file`` because of where it is
        (an unreachable store, a refused credential); None: a parse error, said as such."""
        return None

    def require(self, name: str) -> SourceFile:
        """The file ``name``, or the load's clear error naming the folder."""
        found = self.file(name)
        if found is None:
            raise LoadError(f"{name}: file not found in {self.where}")
        return found


class LocalSourceFiles(SourceFiles):
    """A run's folder on this machine (the generator's output, or a replayed export)."""

    def __init__(self, data_dir: Path) -> None:
        if not data_dir.is_dir():
            raise LoadError(f"data directory not found: {data_dir}")
        self.data_dir = data_dir
        self.where = str(data_dir)

    def file(self, name: str) -> SourceFile | None:
        path = self.data_dir / name
        if not path.is_file():
            return None
        return SourceFile(name, str(path), path.stat().st_size)

    def read_head(self, file: SourceFile, size: int) -> bytes:
        with Path(file.location).open("rb") as handle:
            return handle.read(size)
