"""Invoke dbt for one run: its own target/log folders, its own database path.

The profile is static (``dbt_carton_caps/profiles.yml``) and reads the database path
from ``CARTON_CAPS_DB_PATH``, so concurrent runs never race on a shared profile or a
shared ``target/``. dbt runs as a subprocess: a crash or Ctrl-C in dbt cannot corrupt
the orchestrator's state, and its output goes to the run's log.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import interrupts
from pipeline.disk_space import DISK_FULL_TEXT
from pipeline.paths import DBT_PROJECT_DIR
from pipeline.pii_key import KEY_ENV as PII_KEY_ENV

logger = logging.getLogger(__name__)

FAILING_STATUSES = ("error", "fail", "runtime error")


class DbtError(RuntimeError):
    """dbt could not run or reported failing nodes; the message names them."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary = summary or {}


@dataclass(frozen=True)
class DbtInvocation:
    """Where one run's dbt reads its project and writes its artefacts."""

    db_path: Path
    work_dir: Path
    as_of: str
    project_dir: Path = DBT_PROJECT_DIR
    # keys staging's PII hashes (pipeline/pii_key.py); passed in dbt's environment only
    pii_key: str = field(default="", repr=False)
    #: the program that runs dbt, empty for the dbt executable; a Spark run runs dbt
    #: inside its session wrapper (pipeline/spark_engine.py), with its own extra
    #: arguments (``--target spark``) and environment (where the Parquet lives)
    launcher: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()

    @property
    def target_path(self) -> Path:
        return self.work_dir / "target"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "logs"


def dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        raise DbtError("dbt is not installed in this environment; run `make venv`")
    return found


def project_dir_override() -> Path | None:
    """``CARTON_CAPS_DBT_PROJECT_DIR`` lets tests run a modified copy of the project."""
    value = os.environ.get("CARTON_CAPS_DBT_PROJECT_DIR")
    return Path(value).resolve() if value else None


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
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


def run_dbt(command: list[str], invocation: DbtInvocation) -> int:
    """Run ``dbt <command>`` for this run, streaming its output into the run log."""
    project_dir = project_dir_override() or invocation.project_dir
    args = [
        *(invocation.launcher or (dbt_executable(),)), *command,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(invocation.target_path),
        "--log-path", str(invocation.log_path),
        "--no-use-colors",
        *invocation.extra_args,
    ]
    env = {
        **os.environ,
        "CARTON_CAPS_DB_PATH": str(invocation.db_path),
        "CARTON_CAPS_AS_OF": invocation.as_of,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **dict(invocation.extra_env),
    }
    if invocation.pii_key:
        env[PII_KEY_ENV] = invocation.pii_key
    invocation.work_dir.mkdir(parents=True, exist_ok=True)
    logger.debug("running %s", " ".join(args))
    process: subprocess.Popen[str] | None = None
    try:
        # Popen forks: a SIGTERM raised inside the interpreter's at-fork callbacks would be
        # printed as a traceback and dropped, so it is recorded there and raised just below
        with interrupts.deferred():
            process = subprocess.Popen(
                args, cwd=project_dir, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
                preexec_fn=_die_with_parent(os.getpid()),
            )
        interrupts.check()
        assert process.stdout is not None
        disk_full_line = None
        for line in process.stdout:
            logger.debug("dbt | %s", line.rstrip())
            if disk_full_line is None and DISK_FULL_TEXT in line.lower():
                disk_full_line = line.strip()
        exit_code = process.wait()
    except BaseException:
        if process is None:
            raise
        # Ctrl-C / SIGTERM reached us first: stop dbt before the run records the interrupt.
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    if exit_code != 0 and disk_full_line is not None:
        # dbt's own report (run_results.json) may be missing or stale: the disk is the cause
        raise DbtError(f"dbt {command[0]} stopped: {disk_full_line[:300]}")
    return exit_code


def read_run_results(target_path: Path) -> dict[str, Any]:
    """Summarise ``run_results.json``: counts by status and every failing node."""
    path = target_path / "run_results.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"pass": 0, "warn": 0, "error": 0, "skip": 0, "total": 0, "failures": [],
                "available": False}
    summary: dict[str, Any] = {"pass": 0, "warn": 0, "error": 0, "skip": 0, "failures": []}
    for result in document.get("results", []):
        status = str(result.get("status", "")).lower()
        bucket = {"success": "pass", "pass": "pass", "warn": "warn", "skipped": "skip",
                  "skip": "skip"}.get(status, "error" if status in FAILING_STATUSES else None)
        if bucket:
            summary[bucket] += 1
        if status in FAILING_STATUSES or status == "warn":
            summary["failures"].append({
                "unique_id": result.get("unique_id"),
                "status": status,
                "failures": result.get("failures"),
                "message": (result.get("message") or "")[:2000],
            })
    summary["total"] = sum(summary[key] for key in ("pass", "warn", "error", "skip"))
    summary["available"] = True
    return summary


def build(invocation: DbtInvocation) -> dict[str, Any]:
    """``dbt build``; raises DbtError naming the failing nodes when anything errors."""
    exit_code = run_dbt(["build"], invocation)
    summary = read_run_results(invocation.target_path)
    summary["exit_code"] = exit_code
    if exit_code != 0:
        errors = [f for f in summary["failures"] if f["status"] != "warn"]
        if errors:
            names = ", ".join(str(f["unique_id"]).split(".", 2)[-1] for f in errors[:5])
            more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
            raise DbtError(f"dbt build failed: {len(errors)} failing node(s): {names}{more}",
                           summary)
        raise DbtError(f"dbt build exited with code {exit_code} before producing results; "
                       f"see {invocation.log_path / 'dbt.log'}", summary)
    return summary


def source_freshness(invocation: DbtInvocation) -> dict[str, Any]:
    """``dbt source freshness``; returns per-source status without failing the run.

    Freshness of the load stamp is reported here; the data contracts decide whether a
    stale table fails the run.
    """
    run_dbt(["source", "freshness"], invocation)  # writes <target-path>/sources.json
    path = invocation.target_path / "sources.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"available": False, "results": []}
    results = [
        {
            "unique_id": r.get("unique_id"),
            "status": r.get("status"),
            "max_loaded_at": r.get("max_loaded_at"),
            "snapshotted_at": r.get("snapshotted_at"),
            "age_s": r.get("max_loaded_at_time_ago_in_s"),
        }
        for r in document.get("results", [])
    ]
    return {"available": True, "results": results}
