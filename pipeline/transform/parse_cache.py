"""dbt's parse, kept once per code version and reused by every run of a home.

A full parse of the project costs seconds on every run; dbt can skip it when the run's
``target/`` already holds ``partial_parse.msgpack`` from the same code. Each run has its
own ``target/`` (concurrent runs must never share one), so the parse lives outside it,
under ``logs/dbt/.parse_cache/<key>.msgpack``, and is copied into the run's target before
dbt starts and copied back after dbt wrote a new one.

The key is the code version as dbt sees it: every file of the dbt project, the dbt and
adapter versions, and the values of the environment variables the profile reads (dbt
re-parses from scratch when any of those change). Per-run values never reach the parse:
the profile's database path is the same relative name in every run's own folder, and the
as-of date is read at execution only (``macros/as_of.sql``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from importlib import metadata
from pathlib import Path

from foundation import untrusted_files

PARSE_FILE_NAME = "partial_parse.msgpack"
_SKIPPED_FOLDERS = {"target", "logs", "dbt_packages", ".user.yml"}
#: Python's bytecode of the project's Python models (written when something imports one,
#: e.g. a test): derived from the source, which is hashed, and never read by dbt
_BYTECODE_FOLDER = "__pycache__"
_ENV_VAR_IN_PROFILE = re.compile(r"env_var\(\s*['\"]([A-Za-z0-9_]+)['\"]")
#: dbt, its adapters and the engines they drive (a unit test's result is the engine's too)
_PACKAGES = ("dbt-core", "dbt-duckdb", "dbt-adapters", "dbt-spark", "duckdb", "pyspark")


def _project_files(project_dir: Path) -> list[Path]:
    files = []
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if (path.is_file() and relative.parts[0] not in _SKIPPED_FOLDERS
                and _BYTECODE_FOLDER not in relative.parts):
            files.append(path)
    return files


def profile_env_vars(project_dir: Path) -> list[str]:
    """The environment variables ``profiles.yml`` reads: their values are part of the parse."""
    profile = project_dir / "profiles.yml"
    if not profile.exists():
        return []
    return sorted(set(_ENV_VAR_IN_PROFILE.findall(profile.read_text(encoding="utf-8"))))


def code_version(project_dir: Path) -> str:
    """The dbt project's code as a hash: the versions of dbt, its adapters and their
    engines, and every file of the project (models, macros, tests, unit-test YAML,
    settings)."""
    digest = hashlib.sha256()
    for package in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{package}=={metadata.version(package)}\n".encode())
    for path in _project_files(project_dir):
        digest.update(f"file {path.relative_to(project_dir).as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_key(project_dir: Path, env: dict[str, str]) -> str:
    """The code version of one parse (see the module docstring)."""
    digest = hashlib.sha256(f"code={code_version(project_dir)}\n".encode())
    digest.update(f"project={project_dir.resolve()}\n".encode())
    for name in profile_env_vars(project_dir):
        digest.update(f"env {name}={env.get(name)}\n".encode())
    return digest.hexdigest()[:32]


class ParseCache:
    """One home's cached parses; ``restore`` before dbt runs, ``store`` after."""

    def __init__(self, cache_dir: Path, key: str) -> None:
        self.path = cache_dir / f"{key}.msgpack"

    def restore(self, target_path: Path) -> bool:
        """Copy the cached parse into a run's target; False when there is none yet."""
        target_path.mkdir(parents=True, exist_ok=True)
        if not untrusted_files.is_regular_file(self.path):
            return False  # none yet, or a link or FIFO planted in its place: parse anew
        try:
            shutil.copyfile(self.path, target_path / PARSE_FILE_NAME, follow_symlinks=False)
        except OSError:
            return False
        return True

    def store(self, target_path: Path) -> bool:
        """Keep the run's parse for later runs (atomically: concurrent runs may store too).

        Only a parse this key does not hold yet is copied; False when nothing was stored,
        also when it cannot be (a full disk): the cache only ever saves time.
        """
        produced = target_path / PARSE_FILE_NAME
        if self.path.exists() or not produced.exists():
            return False
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(produced, partial)
            partial.replace(self.path)
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
        return True
