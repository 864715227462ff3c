"""Benchmark the run report: its size and what writing it costs in a run.

One pipeline run of ``--users`` users (default 20,000) in a fresh home; from its manifest,
the ``report`` step's wall time and the file's size, against the run's whole duration.
Then, on the finished run, the report written again ``--repeat`` times in this process
(``runs.py report``: the same code, from the published snapshot), best and median time.
The report's size barely depends on the users: its charts are per day or week and its
tables list only failing checks, and Plotly's bundle (about 4.8 MB) is most of it.

    .venv/bin/python bench/bench_report.py [--users 20000] [--repeat 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from foundation.cli_values import positive_int
from foundation.paths import REPO_ROOT, HomePaths
from pipeline.evidence.report import report_run

#: the issue's ceiling for a report at 1,000,000 users
MAX_BYTES = 5 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=positive_int, default=20_000)
    parser.add_argument("--repeat", type=positive_int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the run's home")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="bench_report_"))
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, str(REPO_ROOT / "pipeline" / "run_pipeline.py"),
                        "--home", str(home), "--run-id", "bench", "--users", str(args.users),
                        "--seed", "7", "--as-of", "2026-11-01", "--quiet"], check=True)
        wall = time.perf_counter() - started
        manifest = json.loads((home / "logs" / "pipeline_bench.json").read_text())
        step = next(s for s in manifest["steps"] if s["name"] == "report")
        again = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            path = report_run(HomePaths(home), "bench")
            again.append(time.perf_counter() - t0)
        size = path.stat().st_size
        print(f"users                 {args.users:,}")
        print(f"run duration          {manifest['duration_s']:,.1f} s (wall {wall:,.1f} s)")
        print(f"report step           {step['duration_s']:,.2f} s "
              f"({100 * step['duration_s'] / manifest['duration_s']:.2f} % of the run)")
        print(f"report written again  best {min(again):,.2f} s, "
              f"median {statistics.median(again):,.2f} s over {args.repeat}")
        print(f"report size           {size:,} bytes ({size / 1024**2:.2f} MiB; "
              f"ceiling {MAX_BYTES / 1024**2:.0f} MiB)")
        return 0 if size <= MAX_BYTES else 1
    finally:
        if args.keep:
            print(f"home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
