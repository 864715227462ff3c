"""What the Makefile hands every process it starts: the bytecode cache stays on.

A container image often sets ``PYTHONDONTWRITEBYTECODE``; then every process compiles
dbt, pandas, ibis and the rest from source again (README "Two commands"). ``make`` clears
it for its recipes, so the first run writes the cache and every later one reads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from foundation.paths import REPO_ROOT

PROBE = """
probe:
\t@"$(PROBE_PYTHON)" -c 'import sys; print(sys.dont_write_bytecode)'
"""


def test_make_recipes_write_the_bytecode_cache_even_when_the_shell_says_not_to(
        tmp_path: Path) -> None:
    probe = tmp_path / "probe.mk"
    probe.write_text(PROBE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # the shell's setting reaches Python when make is not in between
    outside = subprocess.run([sys.executable, "-c", "import sys; print(sys.dont_write_bytecode)"],
                             env=env, capture_output=True, text=True, check=True).stdout
    assert outside.strip() == "True"
    printed = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", str(probe), "probe",
         f"PROBE_PYTHON={sys.executable}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "False"
