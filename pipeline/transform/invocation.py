"""What one run's dbt is given, and the process helpers both of its launchers share.

The profile is static (``dbt_carton_caps/profiles.yml``) and reads the database path
from ``CARTON_CAPS_DB_PATH``, so concurrent runs never race on a shared profile or a
shared ``target/``: each run's dbt gets its own target and log folders
(:class:`DbtInvocation`) and its own environment (:func:`dbt_environment`). dbt runs in a
child process, either the run's long-lived worker (:mod:`pipeline.transform.session`) or
one process per command through a launcher (:mod:`pipeline.transform.one_shot`, the
Spark engine): a crash or Ctrl-C in dbt cannot corrupt the orchestrator's state, a signal
to the run stops it (:func:`stop_process`), the orchestrator's death kills it
(:func:`die_with_parent`), and a full disk named in its output fails the command
(:class:`DiskFullWatch`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from foundation.paths import DBT_PROJECT_DIR
from foundation.pii import KEY_ENV as PII_KEY_ENV
from foundation.run_env import SECRET_ENV_NAMES
from pipeline.lifecycle import duckdb_settings
from pipeline.lifecycle.disk_space import DISK_FULL_TEXT
from pipeline.lifecycle.step_types import UnitTestPolicy
from pipeline.records.run_manifest import DbtSummary


class DbtError(RuntimeError):
    """dbt could not run or reported failing nodes; the message names them."""

    def __init__(self, message: str, summary: DbtSummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass(frozen=True)
class DbtInvocation:
    """Where one run's dbt reads its project and writes its artefacts."""

    db_path: Path
    work_dir: Path
    as_of: str
    project_dir: Path = DBT_PROJECT_DIR
    #: the program that runs dbt, empty for the dbt executable; a Spark run runs dbt
    #: inside its session wrapper (pipeline/steps/spark.py), with its own extra
    #: arguments (``--target spark``) and environment (where the Parquet lives)
    launcher: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()
    #: when dbt's unit tests run (:data:`pipeline.lifecycle.step_types.UnitTestPolicy`)
    unit_tests: UnitTestPolicy = "always"

    @property
    def target_path(self) -> Path:
        return self.work_dir / "target"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "logs"


def project_dir_override() -> Path | None:
    """``CARTON_CAPS_DBT_PROJECT_DIR`` lets tests run a modified copy of the project."""
    value = os.environ.get("CARTON_CAPS_DBT_PROJECT_DIR")
    return Path(value).resolve() if value else None


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """Child-side hook: if the orchestrator dies (even by SIGKILL), dbt is killed too.

    Without it an orphaned ``dbt build`` keeps writing the dead run's ``.building`` file
    after the next run has swept it away.
    """

    def hook() -> None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: best effort only
            return
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def stop_process(process: subprocess.Popen[str]) -> None:
    """Stop a dbt process: terminate, then kill if it does not end within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def dbt_environment(invocation: DbtInvocation, db_path: str) -> dict[str, str]:
    """The environment a run's dbt runs in: this process's, without the PII key (the
    loader hashed PII before dbt runs, so dbt, Spark and their logs never need nor see
    it) nor any other secret (the alert webhook: only the run's own process posts), with
    the database path, the as-of date, DuckDB's memory limit and the invocation's own
    variables. Every launch of the project's dbt (the tests' too) uses
    it, so the profile reads each of these without a default of its own."""
    withheld = SECRET_ENV_NAMES | {PII_KEY_ENV}
    inherited = {name: value for name, value in os.environ.items() if name not in withheld}
    return {**inherited, "CARTON_CAPS_DB_PATH": db_path,
            "CARTON_CAPS_AS_OF": invocation.as_of, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # the profile's memory_limit: one default for every writer of a run
            duckdb_settings.MEMORY_LIMIT_VARIABLE: duckdb_settings.memory_limit(),
            **dict(invocation.extra_env)}


@dataclass
class DiskFullWatch:
    """Watches a dbt command's output for a full disk: a command whose output says so
    fails with that line even when dbt exits 0 (its log writes failed, its results may be
    stale or incomplete): the disk is the cause, and this command is where it filled."""

    line: str | None = field(default=None)

    def see(self, text: str) -> None:
        if self.line is None and DISK_FULL_TEXT in text.lower():
            self.line = text.strip()

    def check(self, command: list[str]) -> None:
        if self.line is not None:
            raise DbtError(f"dbt {command[0]} stopped: {self.line[:300]}")
