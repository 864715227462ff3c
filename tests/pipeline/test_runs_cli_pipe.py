"""`runs.py list | head`: a reader that stops early is not an error for runs.py."""

from __future__ import annotations

import subprocess
import sys

from foundation.paths import REPO_ROOT
from tests.conftest import TinyRun


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(tiny_run: TinyRun) -> None:
    command = [sys.executable, str(REPO_ROOT / "pipeline" / "runs.py"),
               "--home", str(tiny_run.home), "list"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=REPO_ROOT)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # before runs.py has printed a line: every write meets a closed pipe
    error = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, error
    assert error == ""
    whole = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert whole.returncode == 0 and tiny_run.run_id in whole.stdout
