"""Invoke dbt for one run: its own target/log folders, its own database file.

Over 400 lines on purpose: one concern, the lifetime of the run's dbt worker process
(start, commands, signals, disk-full and crash handling, end), which only holds
together in one place; the parse cache and the worker itself are apart.

The profile is static (``dbt_carton_caps/profiles.yml``) and reads the database path
from ``CARTON_CAPS_DB_PATH``, so concurrent runs never race on a shared profile or a
shared ``target/``. dbt runs in a child process (:mod:`pipeline.dbt_worker`), one per
run for all its dbt commands: a crash or Ctrl-C in dbt cannot corrupt the orchestrator's
state, a signal to the run stops it, and its output goes to the run's log.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from foundation.paths import DBT_PROJECT_DIR, REPO_ROOT
from foundation.pii import KEY_ENV as PII_KEY_ENV
from pipeline import dbt_artifacts, duckdb_settings, interrupts
from pipeline.dbt_parse_cache import CACHE_FOLDER, ParseCache, cache_key
from pipeline.dbt_worker import DONE_MARKER
from pipeline.disk_space import DISK_FULL_TEXT

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


DB_LINK_NAME = "carton_caps.duckdb"


class DbtSession:
    """One run's dbt worker process (:mod:`pipeline.dbt_worker`): started on the first
    command, reused by the next ones, stopped by :meth:`close` or on any interrupt.

    The worker runs in the run's own dbt folder, where ``carton_caps.duckdb`` is a hard
    link to the run's building snapshot: the profile's ``CARTON_CAPS_DB_PATH`` (and so
    the catalog name DuckDB derives from it) is that same relative name in every run, so
    dbt's cached parse fits every run while each run still writes only its own file. (A
    symbolic link would not do: DuckDB names the catalog after the link's target.) Where
    no hard link can be made (another file system), dbt gets the snapshot's own path and
    parses in full.

    The run starts the worker (:meth:`start`) before it generates data, so dbt's imports
    and parse overlap generation and loading; the link is made when the first command
    is sent, once the loader has created the snapshot.
    """

    def __init__(self, invocation: DbtInvocation) -> None:
        self.invocation = invocation
        self.project_dir = project_dir_override() or invocation.project_dir
        self.process: subprocess.Popen[str] | None = None
        self.parse_cache: ParseCache | None = None
        #: the worker names the snapshot through the hard link (None: not made yet)
        self.linked: bool | None = None

    def _environment(self) -> dict[str, str]:
        return {
            **_inherited_env(),
            # the worker imports this very checkout, whatever is installed editable
            "PYTHONPATH": os.pathsep.join(filter(None, (
                str(REPO_ROOT), os.environ.get("PYTHONPATH")))),
            "CARTON_CAPS_DB_PATH": DB_LINK_NAME,
            "CARTON_CAPS_AS_OF": self.invocation.as_of,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            **dict(self.invocation.extra_env),
        }

    def start(self) -> None:
        """Start the worker ahead of its first command (it parses at once)."""
        if self.process is None:
            self.process = self._start()

    def _linkable(self) -> bool:
        """Whether the dbt folder and the snapshot share a file system (a hard link can
        exist): decided before the snapshot itself does."""
        if self.linked is False:
            return False
        try:
            return (self.invocation.work_dir.stat().st_dev
                    == self.invocation.db_path.parent.stat().st_dev)
        except OSError:
            return False

    def _link(self) -> bool:
        """Link the snapshot under the name the worker was started with."""
        invocation = self.invocation
        link = invocation.work_dir / DB_LINK_NAME
        link.unlink(missing_ok=True)
        try:
            link.hardlink_to(invocation.db_path)
        except OSError as exc:
            logger.debug("no hard link to %s (%s): dbt parses in full", invocation.db_path, exc)
            self.linked = False
            return False
        duckdb_settings.link_spill_dir(link, invocation.work_dir.name)
        self.linked = True
        return True

    def _start(self) -> subprocess.Popen[str]:
        invocation = self.invocation
        invocation.work_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        if self._linkable():
            self.parse_cache = ParseCache(
                invocation.work_dir.parent / CACHE_FOLDER, cache_key(self.project_dir, env))
            reused = self.parse_cache.restore(invocation.target_path)
            logger.debug("dbt parse cache %s: %s", "hit" if reused else "miss",
                         self.parse_cache.path)
        else:
            # a path of its own makes the parse this run's alone: nothing to cache
            self.parse_cache = None
            env["CARTON_CAPS_DB_PATH"] = str(invocation.db_path.resolve())
        args = [
            sys.executable, "-u", "-m", "pipeline.dbt_worker",
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.project_dir),
            "--target-path", str(invocation.target_path),
            "--log-path", str(invocation.log_path),
            "--no-use-colors",
        ]
        logger.debug("starting %s", " ".join(args))
        process: subprocess.Popen[str] | None = None
        try:
            # Popen forks: a SIGTERM raised inside the interpreter's at-fork callbacks would
            # be printed as a traceback and dropped, so it is recorded there and raised below
            with interrupts.deferred():
                process = subprocess.Popen(
                    args, cwd=invocation.work_dir, env=env, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    encoding="utf-8", errors="replace",
                    preexec_fn=_die_with_parent(os.getpid()),
                )
            interrupts.check()
        except BaseException:
            if process is not None:
                _stop(process)
            raise
        return process

    def run(self, command: list[str]) -> int:
        """Run ``dbt <command>`` in the worker, streaming its output into the run log."""
        self.start()
        if self.parse_cache is not None and self.linked is None and not self._link():
            # the file system refused the link after all: a worker that names the snapshot
            # by its own path (and parses in full) replaces the one started for the link
            self._end_process()
            self.start()
        process = self.process
        assert process is not None
        disk_full_line: str | None = None
        exit_code: int | None = None
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
            for line in process.stdout:
                if line.startswith(DONE_MARKER):
                    exit_code = int(line[len(DONE_MARKER):])
                    break
                logger.debug("dbt | %s", line.rstrip())
                if disk_full_line is None and DISK_FULL_TEXT in line.lower():
                    disk_full_line = line.strip()
            if exit_code is None:  # the worker died: a crash, a kill, the OOM killer
                exit_code = process.wait() or 2
                self.process = None
        except BrokenPipeError:  # the worker died before it read the command
            exit_code = process.wait() or 2
            self.process = None
        except BaseException:
            # Ctrl-C / SIGTERM reached us first: stop dbt before the run records the interrupt.
            self.process = None
            _stop(process)
            raise
        if self.parse_cache is not None and self.parse_cache.store(self.invocation.target_path):
            logger.debug("dbt parse cached: %s", self.parse_cache.path)
        if disk_full_line is not None:
            # even when dbt exits 0 (its log writes failed, its results may be stale or
            # incomplete): the disk is the cause, and this command is where it filled
            raise DbtError(f"dbt {command[0]} stopped: {disk_full_line[:300]}")
        return exit_code

    def close(self) -> None:
        """End the worker; its DuckDB connections are closed (the file checkpointed) by then."""
        self._end_process()
        _settle_wal(self.invocation.work_dir / DB_LINK_NAME)

    def _end_process(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _settle_wal(link: Path) -> None:
    """DuckDB keeps its WAL beside the name it opened (the link, not the snapshot): should a
    worker leave one, replay it into the snapshot through that name, then drop the link
    (it would keep a deleted snapshot's blocks on disk). A WAL that cannot be replayed
    is a DbtError: the snapshot alone would silently miss what dbt wrote."""
    try:
        if link.with_name(link.name + ".wal").exists() and link.exists():
            with duckdb.connect(str(link)) as con:
                con.execute("checkpoint")
    except (duckdb.Error, OSError) as exc:
        raise DbtError(f"dbt's last writes could not be checkpointed: {exc}") from exc
    finally:
        remove_db_link(link.parent)


def remove_db_link(work_dir: Path) -> None:
    """Delete a run's link to its snapshot (and a WAL beside it): part of its clean-up."""
    for name in (DB_LINK_NAME, f"{DB_LINK_NAME}.wal", f"{DB_LINK_NAME}.tmp"):
        path = work_dir / name
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)


_sessions: dict[Path, DbtSession] = {}


def session(invocation: DbtInvocation) -> DbtSession:
    """The run's dbt worker (one per dbt folder, so concurrent runs never share one)."""
    key = invocation.work_dir.resolve()
    if key not in _sessions or _sessions[key].invocation != invocation:
        close_session(invocation)
        _sessions[key] = DbtSession(invocation)
    return _sessions[key]


def start_session(invocation: DbtInvocation) -> None:
    """Start the run's dbt worker ahead of its first command, so its imports and parse
    overlap the steps before dbt; a run whose dbt has a launcher (Spark) has no worker."""
    if not invocation.launcher:
        session(invocation).start()


def close_session(invocation: DbtInvocation) -> None:
    found = _sessions.pop(invocation.work_dir.resolve(), None)
    if found is not None:
        found.close()


def close_all_sessions() -> None:
    """Stop every worker this process started (the runner calls it when a run ends)."""
    while _sessions:
        _sessions.popitem()[1].close()


atexit.register(close_all_sessions)


def _inherited_env() -> dict[str, str]:
    """This process's environment without the PII key: the loader hashed PII before dbt
    runs (foundation/pii.py), so dbt, Spark and their logs never need nor see the key."""
    return {name: value for name, value in os.environ.items() if name != PII_KEY_ENV}


def _run_once(command: list[str], invocation: DbtInvocation) -> int:
    """Run ``dbt <command>`` through the invocation's own launcher (a Spark session
    wrapper), one process per command, streaming its output into the run log."""
    project_dir = project_dir_override() or invocation.project_dir
    args = [
        *invocation.launcher, *command,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(invocation.target_path),
        "--log-path", str(invocation.log_path),
        "--no-use-colors",
        *invocation.extra_args,
    ]
    env = {
        **_inherited_env(),
        "CARTON_CAPS_DB_PATH": str(invocation.db_path),
        "CARTON_CAPS_AS_OF": invocation.as_of,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **dict(invocation.extra_env),
    }
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
        _stop(process)
        raise
    if disk_full_line is not None:
        # even when dbt exits 0 (its log writes failed, its results may be stale or
        # incomplete): the disk is the cause, and this command is where it filled
        raise DbtError(f"dbt {command[0]} stopped: {disk_full_line[:300]}")
    return exit_code


def run_dbt(command: list[str], invocation: DbtInvocation) -> int:
    """Run ``dbt <command>`` for this run: in its dbt worker, or through the invocation's
    launcher when it has one (the Spark engine runs dbt inside its own session)."""
    if invocation.launcher:
        return _run_once(command, invocation)
    return session(invocation).run(command)


def read_run_results(target_path: Path) -> dict[str, Any]:
    """Summarise ``run_results.json``: counts by status and every failing node."""
    document = dbt_artifacts.read_run_results(target_path)
    if document is None:
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
    # the run's last dbt command: end dbt now. Its last connection closing is when DuckDB
    # writes what the build left in its write-ahead log into the snapshot, so a disk too
    # small for the built tables fails here, at dbt_build, not at whichever step follows;
    # and a failed build's details and raw contract can then be read from the snapshot
    try:
        close_session(invocation)
    except DbtError:
        if exit_code == 0:
            raise
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
    # the run's first dbt command (dbt's own order: freshness of the sources, then the
    # build); the worker stays up for the build, which ends it
    run_dbt(["source", "freshness"], invocation)  # writes <target-path>/sources.json
    document = dbt_artifacts.read_sources(invocation.target_path)
    if document is None:
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
