"""The dbt project's manifest at definition time: ``dbt parse``, offline, cached per code.

Dagster's asset graph is the dbt lineage, read from dbt's ``manifest.json``. A run writes
one, but the definitions must load before any run (on a fresh clone, in CI), so they
parse the project themselves: ``dbt parse`` in a child process (dbt's imports and global
state stay out of Dagster's process), into ``logs/dbt/.definitions/<key>/`` of the home.
The key is the parse cache's (:func:`pipeline.transform.parse_cache.cache_key`: every file
of the project, the dbt versions, the variables the profile reads), so the manifest is
parsed once per code version and a changed model shows up at the next load. The as-of date
is read only at execution, so one manifest serves every partition.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from foundation.paths import DBT_DB_LINK_NAME, DBT_PROJECT_DIR, HomePaths
from pipeline.transform import artifacts
from pipeline.transform.invocation import DbtInvocation, dbt_environment, project_dir_override
from pipeline.transform.parse_cache import cache_key

CACHE_FOLDER = ".definitions"
PARSE_TIMEOUT_S = 600


class DbtManifestError(RuntimeError):
    """The project could not be parsed; the message holds the end of dbt's output."""


def _dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def manifest_folder(home: Path) -> Path:
    return HomePaths(home).dbt_logs_dir / CACHE_FOLDER


def load_manifest(home: Path) -> dict[str, Any]:
    """The project's parsed manifest, from the home's cache or parsed now."""
    project_dir = project_dir_override() or DBT_PROJECT_DIR
    invocation = DbtInvocation(db_path=Path(DBT_DB_LINK_NAME), work_dir=manifest_folder(home),
                               as_of="2000-01-01", project_dir=project_dir)
    env = dbt_environment(invocation, DBT_DB_LINK_NAME)
    folder = manifest_folder(home) / cache_key(project_dir, env)
    cached = artifacts.load(folder / "target", within=home).manifest
    if cached:
        return cached
    shutil.rmtree(folder, ignore_errors=True)  # a folder left without its manifest
    _parse(project_dir, folder, env)
    parsed = artifacts.load(folder / "target", within=home).manifest
    if not parsed:
        raise DbtManifestError(f"dbt parse wrote no manifest in {folder}")
    return parsed


def _parse(project_dir: Path, folder: Path, env: dict[str, str]) -> None:
    """``dbt parse`` into a folder of its own, renamed into place when complete, so two
    processes loading the definitions at once never read a half-written manifest."""
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = [_dbt_executable(), "parse", "--project-dir", str(project_dir),
               "--profiles-dir", str(project_dir), "--target-path", str(partial / "target"),
               "--log-path", str(partial / "logs"), "--no-use-colors"]
    try:
        done = subprocess.run(command, cwd=partial, env=env, capture_output=True, text=True,
                              timeout=PARSE_TIMEOUT_S, check=False)
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-15:])
            raise DbtManifestError(f"dbt parse failed (exit {done.returncode}):\n{tail}")
        with contextlib.suppress(OSError):  # another process stored the same parse first
            partial.replace(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
