"""How much memory DuckDB may take and where it spills, for every process of a run.

DuckDB's default memory limit is 80 % of the machine's RAM, per process: a 1M-user run
let dbt's DuckDB grow past 4 GB. Every writer of a run (the loader here, dbt through the
profile) is therefore given an explicit limit, and spills what does not fit to a
temporary folder of the run's own, so a laptop with 8 GB runs a million users.

Operators set them with environment variables:

* ``CARTON_CAPS_DUCKDB_MEMORY_LIMIT`` (default ``1GB``): DuckDB's ``memory_limit``. The
  process peaks above it by what DuckDB does not account for plus Python and dbt
  themselves (a few hundred MB).
* ``CARTON_CAPS_DUCKDB_TEMP_DIR`` (default: beside the database file): where DuckDB
  spills; each run spills into a subfolder of its own.

``dbt_carton_caps/profiles.yml`` reads the memory limit from the same variable, with the
same default (a test keeps the two equal).
"""

from __future__ import annotations

import os
from pathlib import Path

MEMORY_LIMIT_VARIABLE = "CARTON_CAPS_DUCKDB_MEMORY_LIMIT"
TEMP_DIR_VARIABLE = "CARTON_CAPS_DUCKDB_TEMP_DIR"
DEFAULT_MEMORY_LIMIT = "1GB"


def memory_limit() -> str:
    return os.environ.get(MEMORY_LIMIT_VARIABLE) or DEFAULT_MEMORY_LIMIT


def spill_dir(db_path: Path, run_id: str) -> Path:
    """The run's spill folder: under the configured folder, else beside the database."""
    base = os.environ.get(TEMP_DIR_VARIABLE)
    if base:
        return Path(base).expanduser().resolve() / run_id
    return db_path.with_name(db_path.name + ".tmp")


def connect_config(db_path: Path, run_id: str) -> dict[str, str]:
    """``duckdb.connect(config=...)`` for a writer of the run's snapshot."""
    return {"memory_limit": memory_limit(),
            "temp_directory": str(spill_dir(db_path, run_id))}


def link_spill_dir(link: Path, run_id: str) -> None:
    """dbt opens the snapshot through ``link`` and spills to DuckDB's default folder beside
    it (``<link>.tmp``, in the run's dbt folder); a configured folder is linked there."""
    if not os.environ.get(TEMP_DIR_VARIABLE):
        return
    target = spill_dir(link, run_id)
    target.mkdir(parents=True, exist_ok=True)
    spill_link = link.with_name(link.name + ".tmp")
    spill_link.unlink(missing_ok=True)
    spill_link.symlink_to(target, target_is_directory=True)
