"""dbt through a launcher, one process per command (the Spark engine's session wrapper).

A run whose dbt has a launcher (:attr:`DbtInvocation.launcher`) has no long-lived worker:
each command starts its own process, its output streamed into the run's log.
"""

from __future__ import annotations

import logging
import os
import subprocess

from pipeline.lifecycle import interrupts
from pipeline.transform.invocation import (
    DbtInvocation,
    DiskFullWatch,
    dbt_environment,
    die_with_parent,
    project_dir_override,
    stop_process,
)

logger = logging.getLogger(__name__)


def run_once(command: list[str], invocation: DbtInvocation) -> int:
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
    env = dbt_environment(invocation, str(invocation.db_path))
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
                preexec_fn=die_with_parent(os.getpid()),
            )
        interrupts.check()
        assert process.stdout is not None
        disk_full = DiskFullWatch()
        for line in process.stdout:
            logger.debug("dbt | %s", line.rstrip())
            disk_full.see(line)
        exit_code = process.wait()
    except BaseException:
        if process is None:
            raise
        # Ctrl-C / SIGTERM reached us first: stop dbt before the run records the interrupt.
        stop_process(process)
        raise
    disk_full.check(command)
    return exit_code
