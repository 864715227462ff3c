"""Where every artefact of a run lives, derived from one home directory.

Keeping the layout in one place lets tests and users run isolated copies with
``--home`` while the dashboards find the same files through the same functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_carton_caps"
#: the data contracts (ODCS v3 YAML): read by the pipeline, partly written by ``codegen``
CONTRACTS_DIR = REPO_ROOT / "contracts"
POINTER_NAME = "LATEST_DB.txt"
SNAPSHOT_PREFIX = "carton_caps_"
SNAPSHOT_SUFFIX = ".duckdb"
BUILDING_SUFFIX = ".building"
#: the name under which a run's dbt reaches its snapshot: a hard link in the run's dbt
#: folder, the same name in every run so dbt's cached parse fits every run
#: (pipeline/transform/session.py)
DBT_DB_LINK_NAME = "carton_caps.duckdb"
#: dbt's documentation site as one offline page (``dbt docs generate --static`` names it)
DBT_STATIC_DOCS_NAME = "static_index.html"
#: the home's caches, under ``logs/dbt/`` (beside the runs' dbt folders): dbt's parse
#: (pipeline/transform/parse_cache.py) and the unit tests' results
#: (pipeline/transform/unit_test_cache.py), each kept while the code is unchanged
PARSE_CACHE_FOLDER = ".parse_cache"
UNIT_TEST_CACHE_FOLDER = ".unit_test_cache"
#: the home's owner-only folder of secrets (the PII key: pipeline/records/pii_key.py)
SECRETS_FOLDER = ".secrets"


def default_home() -> Path:
    """``$CARTON_CAPS_HOME`` if set, else the repository root."""
    env = os.environ.get("CARTON_CAPS_HOME")
    return Path(env).expanduser().resolve() if env else REPO_ROOT


def snapshot_file_name(run_id: str) -> str:
    return f"{SNAPSHOT_PREFIX}{run_id}{SNAPSHOT_SUFFIX}"


@dataclass(frozen=True)
class HomePaths:
    """The three folders of a home: ``data/``, ``duckdb/``, ``logs/``."""

    home: Path

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def duckdb_dir(self) -> Path:
        return self.home / "duckdb"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def pointer(self) -> Path:
        return self.duckdb_dir / POINTER_NAME

    @property
    def publish_lock(self) -> Path:
        return self.duckdb_dir / ".publish.lock"

    @property
    def dbt_logs_dir(self) -> Path:
        """The runs' dbt folders (:attr:`RunPaths.dbt_dir`) and dbt's caches."""
        return self.logs_dir / "dbt"

    @property
    def openlineage_dir(self) -> Path:
        """The runs' OpenLineage events and the column-lineage cache."""
        return self.logs_dir / "openlineage"

    @property
    def contract_cache_dir(self) -> Path:
        """datacontract-cli's reading of each contract (pipeline/checks/contract_cache.py)."""
        return self.logs_dir / ".contract_cache"

    @property
    def parse_cache_dir(self) -> Path:
        return self.dbt_logs_dir / PARSE_CACHE_FOLDER

    @property
    def unit_test_cache_dir(self) -> Path:
        return self.dbt_logs_dir / UNIT_TEST_CACHE_FOLDER

    @property
    def secrets_dir(self) -> Path:
        return self.home / SECRETS_FOLDER

    @property
    def atomic_write_dirs(self) -> tuple[Path, ...]:
        """The home's folders where a run replaces or creates a file atomically: it writes
        ``<file>.<pid>.tmp`` (or ``.<file>.<pid>.tmp``), then renames or links it. A run
        killed between the two leaves that file, which the next run's sweep removes
        (pipeline/lifecycle/sweep.py); a run's own folders are in
        :attr:`RunPaths.atomic_write_dirs`."""
        return (self.duckdb_dir, self.logs_dir, self.openlineage_dir, self.contract_cache_dir,
                self.parse_cache_dir, self.unit_test_cache_dir, self.secrets_dir)

    def ensure(self) -> None:
        for folder in (self.data_dir, self.duckdb_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def run(self, run_id: str) -> RunPaths:
        return RunPaths(home=self.home, run_id=run_id)

    def manifest_paths(self) -> list[Path]:
        return sorted(self.logs_dir.glob("pipeline_*.json"))


@dataclass(frozen=True)
class RunPaths(HomePaths):
    """Every file one run owns; all names carry the run id."""

    run_id: str = ""

    @property
    def run_data_dir(self) -> Path:
        return self.data_dir / self.run_id

    @property
    def temp_dir(self) -> Path:
        """The run's scratch folder: sources generated before they land in object storage,
        the app database fetched from there. Hidden (no run id starts with a dot), removed
        when the run ends and, after a kill, by the next run's sweep."""
        return self.data_dir / f".tmp_{self.run_id}"

    @property
    def snapshot(self) -> Path:
        return self.duckdb_dir / snapshot_file_name(self.run_id)

    @property
    def building_snapshot(self) -> Path:
        """The file dbt and the loader write; never mistaken for a finished snapshot."""
        return self.duckdb_dir / f"{snapshot_file_name(self.run_id)}{BUILDING_SUFFIX}"

    @property
    def manifest(self) -> Path:
        return self.logs_dir / f"pipeline_{self.run_id}.json"

    @property
    def log(self) -> Path:
        return self.logs_dir / f"pipeline_{self.run_id}.log"

    @property
    def report(self) -> Path:
        """The run's one-file HTML report (pipeline/evidence/report.py writes it)."""
        return self.logs_dir / f"report_{self.run_id}.html"

    @property
    def schema_snapshot(self) -> Path:
        return self.logs_dir / f"schema_{self.run_id}.json"

    @property
    def dbt_dir(self) -> Path:
        """Per-run dbt target and log folder, so concurrent runs never share one."""
        return self.dbt_logs_dir / self.run_id

    @property
    def dbt_db_link(self) -> Path:
        """dbt's hard link to the building snapshot (and, beside it, DuckDB's WAL)."""
        return self.dbt_dir / DBT_DB_LINK_NAME

    @property
    def dbt_target(self) -> Path:
        """dbt's artefacts of the run (manifest, run results, the docs page)."""
        return self.dbt_dir / "target"

    @property
    def atomic_write_dirs(self) -> tuple[Path, ...]:
        """The home's folders and the run's own dbt target, where the build's results are
        rewritten with the cached unit tests' (pipeline/transform/unit_test_cache.py)."""
        return (*super().atomic_write_dirs, self.dbt_target)

    @property
    def dbt_docs(self) -> Path:
        """dbt's documentation site for the run, one page (pipeline/steps/docs.py)."""
        return self.dbt_target / DBT_STATIC_DOCS_NAME
