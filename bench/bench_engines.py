"""Benchmark a Spark run against a DuckDB run of the same parameters, per step.

For each ``--users`` size, runs the whole pipeline twice in a fresh home (``--engine
duckdb`` then ``--engine spark``, same seed and as-of), reads each manifest and prints
every step's seconds side by side with the ratio spark/duckdb. Spark on one machine is
expected to be slower: the figures show its fixed cost (JVM start, per-statement
scheduling) and how each engine's time grows from one size to the next.

    .venv/bin/python bench/bench_engines.py [--users 20000,200000] [--seed 42]
        [--as-of 2026-11-01] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from foundation.cli_values import comma_separated, non_negative_int, positive_int

REPO_ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("duckdb", "spark")


def run(home: Path, engine: str, users: int, seed: int, as_of: str) -> dict:
    """One pipeline run; its manifest."""
    command = [sys.executable, str(REPO_ROOT / "pipeline" / "run_pipeline.py"),
               "--home", str(home), "--users", str(users), "--seed", str(seed),
               "--as-of", as_of, "--run-id", engine, "--engine", engine, "--quiet"]
    subprocess.run(command, cwd=REPO_ROOT, check=False, stdout=subprocess.DEVNULL)
    manifest = json.loads((home / "logs" / f"pipeline_{engine}.json").read_text())
    if manifest["status"] != "success":
        raise SystemExit(f"{engine} run at {users} users {manifest['status']}: "
                         f"{manifest.get('error')}")
    return manifest


def table(users: int, manifests: dict[str, dict]) -> str:
    steps = {name: {s["name"]: s["duration_s"] for s in m["steps"]}
             for name, m in manifests.items()}
    lines = [f"users={users:,}", f"  {'step':<18}{'duckdb s':>10}{'spark s':>10}{'ratio':>8}"]
    for step in steps["duckdb"]:
        d, s = steps["duckdb"][step], steps["spark"].get(step)
        ratio = f"{s / d:.1f}x" if s is not None and d > 0.05 else "-"
        lines.append(f"  {step:<18}{d:>10.1f}{s if s is not None else float('nan'):>10.1f}"
                     f"{ratio:>8}")
    total_d, total_s = (manifests[e]["duration_s"] for e in ENGINES)
    lines.append(f"  {'total':<18}{total_d:>10.1f}{total_s:>10.1f}{total_s / total_d:>7.1f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=comma_separated(positive_int), default="20000,200000")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark homes")
    args = parser.parse_args(argv)
    for users in args.users:
        home = Path(tempfile.mkdtemp(prefix=f"bench_engines_{users}_"))
        try:
            manifests = {engine: run(home, engine, users, args.seed, args.as_of)
                         for engine in ENGINES}
            print(table(users, manifests), flush=True)
        finally:
            if not args.keep:
                shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
