"""The run's dbt worker: one long-lived dbt process per run, for all its dbt commands.

One concern, the lifetime of that process (start, commands, signals, disk-full and crash
handling, end), which only holds together in one place; the parse cache
(:mod:`pipeline.transform.parse_cache`) and the worker's own side
(:mod:`pipeline.transform.worker`) are apart.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
from foundation.paths import DBT_DB_LINK_NAME, PARSE_CACHE_FOLDER, REPO_ROOT
from pipeline.lifecycle import duckdb_settings, interrupts
from pipeline.transform.invocation import (
    DbtError,
    DbtInvocation,
    DiskFullWatch,
    dbt_environment,
    die_with_parent,
    project_dir_override,
    stop_process,
)
from pipeline.transform.parse_cache import ParseCache, cache_key
from pipeline.transform.worker import DONE_MARKER, IDLE_IMPORTS_FLAG

logger = logging.getLogger(__name__)


class DbtSession:
    """One run's dbt worker process (:mod:`pipeline.transform.worker`): started on the first
    command, reused by the next ones, stopped by :meth:`close` or on any interrupt.

    The worker runs in the run's own dbt folder, where ``carton_caps.duckdb`` is a hard
    link to the run's building snapshot: the profile's ``CARTON_CAPS_DB_PATH`` (and so
    the catalog name DuckDB derives from it) is that same relative name in every run, so
    dbt's cached parse fits every run while each run still writes only its own file. (A
    symbolic link would not do: DuckDB names the catalog after the link's target.) Where
    no hard link can be made (another file system), dbt gets the snapshot's own path and
    parses in full.

    The run starts a worker (:meth:`start`) before it generates data, so dbt's imports
    and parse overlap generation and loading, and another one as the build ends, for the
    docs; the link is made when a worker's first command is sent, once the loader has
    created the snapshot.
    """

    def __init__(self, invocation: DbtInvocation) -> None:
        self.invocation = invocation
        self.project_dir = project_dir_override() or invocation.project_dir
        self.process: subprocess.Popen[str] | None = None
        self.parse_cache: ParseCache | None = None
        #: the worker names the snapshot through the hard link (None: not made yet)
        self.linked: bool | None = None
        #: whether the worker was sent a command (one never sent any is stopped at once)
        self.commanded = False

    def _environment(self) -> dict[str, str]:
        env = dbt_environment(self.invocation, DBT_DB_LINK_NAME)
        # the worker imports this very checkout, whatever is installed editable
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_ROOT),
                                                          os.environ.get("PYTHONPATH"))))
        return env

    def start(self, *, idle_imports: bool = False) -> None:
        """Start the worker ahead of its first command (it parses at once); with
        ``idle_imports`` it then imports the Python models' libraries while it waits."""
        if self.process is None:
            self.process = self._start(idle_imports)

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
        link = invocation.work_dir / DBT_DB_LINK_NAME
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

    def _start(self, idle_imports: bool = False) -> subprocess.Popen[str]:
        invocation = self.invocation
        invocation.work_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        if self._linkable():
            self.parse_cache = ParseCache(
                invocation.work_dir.parent / PARSE_CACHE_FOLDER, cache_key(self.project_dir, env))
            reused = self.parse_cache.restore(invocation.target_path)
            logger.debug("dbt parse cache %s: %s", "hit" if reused else "miss",
                         self.parse_cache.path)
        else:
            # a path of its own makes the parse this run's alone: nothing to cache
            self.parse_cache = None
            env["CARTON_CAPS_DB_PATH"] = str(invocation.db_path.resolve())
        args = [
            sys.executable, "-u", "-m", "pipeline.transform.worker",
            *((IDLE_IMPORTS_FLAG,) if idle_imports else ()),
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
                    preexec_fn=die_with_parent(os.getpid()),
                )
            interrupts.check()
        except BaseException:
            if process is not None:
                stop_process(process)
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
        disk_full = DiskFullWatch()
        exit_code: int | None = None
        try:
            assert process.stdin is not None and process.stdout is not None
            self.commanded = True
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
            for line in process.stdout:
                if line.startswith(DONE_MARKER):
                    exit_code = int(line[len(DONE_MARKER):])
                    break
                logger.debug("dbt | %s", line.rstrip())
                disk_full.see(line)
            if exit_code is None:  # the worker died: a crash, a kill, the OOM killer
                exit_code = process.wait() or 2
                self.process = None
        except BrokenPipeError:  # the worker died before it read the command
            exit_code = process.wait() or 2
            self.process = None
        except BaseException:
            # Ctrl-C / SIGTERM reached us first: stop dbt before the run records the interrupt.
            self.process = None
            stop_process(process)
            raise
        if self.parse_cache is not None and self.parse_cache.store(self.invocation.target_path):
            logger.debug("dbt parse cached: %s", self.parse_cache.path)
        disk_full.check(command)
        return exit_code

    def close(self) -> None:
        """End the worker; its DuckDB connections are closed (the file checkpointed) by then.
        A worker that was never sent a command (the run ended before it needed dbt) is
        stopped at once, not left to finish a parse nobody will use."""
        self._end_process(at_once=not self.commanded)
        _settle_wal(self.invocation.work_dir / DBT_DB_LINK_NAME)

    def _end_process(self, *, at_once: bool = False) -> None:
        process, self.process = self.process, None
        if process is not None and at_once:
            stop_process(process)
        elif process is not None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                stop_process(process)


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
    for name in (DBT_DB_LINK_NAME, f"{DBT_DB_LINK_NAME}.wal", f"{DBT_DB_LINK_NAME}.tmp"):
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


def start_session(invocation: DbtInvocation, *, idle_imports: bool = False) -> None:
    """Start the run's dbt worker ahead of its first command, so its imports and parse
    overlap the steps before it; a run whose dbt has a launcher (Spark) has no worker.
    ``idle_imports``: a worker that will build also imports what the Python models import
    while it waits (a worker for the docs would only take a core from the checks)."""
    if not invocation.launcher:
        session(invocation).start(idle_imports=idle_imports)


def close_session(invocation: DbtInvocation) -> None:
    found = _sessions.pop(invocation.work_dir.resolve(), None)
    if found is not None:
        found.close()


def close_all_sessions() -> None:
    """Stop every worker this process started (the runner calls it when a run ends)."""
    while _sessions:
        _sessions.popitem()[1].close()


atexit.register(close_all_sessions)


