"""Run the whole pipeline once: generate, load raw, dbt build, snapshot, publish.

    python pipeline/run_pipeline.py [--home DIR] [--seed N] [--users N]
        [--as-of YYYY-MM-DD] [--days N] [--faults a,b,...] [--run-id ID]
        [--engine duckdb|spark]

Exit codes: 0 published, 1 failed (pointer unchanged), 2 bad arguments,
130 interrupted (pointer unchanged).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from foundation import cli_values
from foundation.paths import HomePaths, default_home
from foundation.run_id import RunIdError, new_run_id, validate_run_id
from generator.data_generator import (
    DEFAULT_DAYS,
    DEFAULT_USERS,
    FAULT_CLASSES,
    GeneratorConfig,
    GeneratorInputError,
    parse_faults,
    validate_config,
)
from pipeline.checks.health import RunHealth
from pipeline.lifecycle import logging_setup
from pipeline.lifecycle.disk_space import (
    InsufficientSpaceError,
    check_room,
    disk_full_message,
    estimate_run_bytes,
    is_disk_full,
    unwritable_folders,
)
from pipeline.lifecycle.interrupts import RunInterrupted
from pipeline.lifecycle.runner import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, PipelineRun
from pipeline.lifecycle.step_types import RunConfig
from pipeline.records.manifest import RunIdTakenError
from pipeline.records.pointer import PointerError, read_pointer
from pipeline.records.run_manifest import RunManifest
from pipeline.steps.plan import ENGINES, run_plan

DEFAULT_SEED = 42
EXIT_USAGE = 2


class UsageError(ValueError):
    """A command-line value that cannot be used; printed as-is, exit code 2."""


def _as_of(value: str | None, today: date) -> date:
    return today if value is None else cli_values.iso_date("--as-of", value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_pipeline.py",
        description="Generate, load, transform and publish one Carton Caps snapshot.",
    )
    parser.add_argument("--home", type=Path, default=None,
                        help="folder holding data/, duckdb/ and logs/ "
                             "(default: $CARTON_CAPS_HOME or the repository root)")
    parser.add_argument("--seed", default=str(DEFAULT_SEED), help=f"default {DEFAULT_SEED}")
    parser.add_argument("--users", default=str(DEFAULT_USERS), help=f"default {DEFAULT_USERS}")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today, UTC)")
    parser.add_argument("--days", default=str(DEFAULT_DAYS),
                        help=f"days of history (default {DEFAULT_DAYS})")
    parser.add_argument("--faults", default=None,
                        help=f"comma-separated fault classes: {', '.join(FAULT_CLASSES)}")
    parser.add_argument("--run-id", default=None,
                        help="[A-Za-z0-9_-]{1,64}; default: UTC timestamp + random suffix")
    parser.add_argument("--engine", choices=ENGINES, default="duckdb",
                        help="where dbt builds the project (default duckdb); spark lands raw "
                             "as Parquet, builds on a local Spark session and writes the "
                             "result into the run's DuckDB snapshot")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Parse and validate every option before anything is written.

    Value ranges (users, days, seed, as-of, fault names) are the generator's rules, asked
    of the generator itself so the two can never disagree.
    """
    today = datetime.now(UTC).date()  # the wall clock, read once
    try:
        generator_config = GeneratorConfig(
            seed=cli_values.whole_number("--seed", args.seed),
            users=cli_values.whole_number("--users", args.users),
            as_of=_as_of(args.as_of, today), days=cli_values.whole_number("--days", args.days),
            faults=parse_faults(args.faults),
        )
        validate_config(generator_config, today=today)
    except (GeneratorInputError, cli_values.CliValueError) as exc:
        raise UsageError(str(exc)) from None
    home = (args.home or default_home()).expanduser().resolve()
    if home.exists() and not home.is_dir():
        raise UsageError(f"--home {home} is not a directory")
    run_id = validate_run_id(args.run_id) if args.run_id is not None else new_run_id()
    return RunConfig(home=home, run_id=run_id, seed=generator_config.seed,
                     users=generator_config.users, as_of=generator_config.as_of,
                     days=generator_config.days, faults=generator_config.faults,
                     engine=args.engine)


def _served(config: RunConfig) -> str:
    """What readers are served now that this run did not publish."""
    try:
        served = read_pointer(HomePaths(config.home))
    except PointerError as exc:
        return f"the pointer has a problem: {exc}"
    return (f"run {served} is still served" if served
            else "no snapshot has been published in this home yet")


#: findings the console summary names (runs.py show lists them all)
SUMMARY_FINDINGS = 5


def health_lines(health: RunHealth | None, run_id: str) -> list[str]:
    """The run's health in the summary: its status and its findings, worst first."""
    if health is None:
        return []
    counts = health.counts()
    lines = [f"  health: {health.status.upper()}, {len(health.findings)} finding(s) "
             f"({counts['error']} error, {counts['warning']} warning, {counts['info']} info)"]
    lines += [f"    [{f.severity}] {f.title}" for f in health.findings[:SUMMARY_FINDINGS]]
    if len(health.findings) > SUMMARY_FINDINGS:
        lines.append(f"    … and {len(health.findings) - SUMMARY_FINDINGS} more: "
                     f"runs.py show {run_id}")
    return lines


def _summary(manifest: RunManifest, config: RunConfig) -> str:
    raw_rows = sum(manifest.row_counts.raw.values())
    marts = manifest.row_counts.marts
    dbt = manifest.dbt
    lines = [
        f"run {config.run_id}: {manifest.status.upper()} in {manifest.duration_s or 0:.1f}s",
        f"  rows: {raw_rows:,} raw; {sum(marts.values()):,} in {len(marts)} mart tables",
        f"  dbt: {dbt.passed} pass, {dbt.warn} warn, {dbt.error} error, {dbt.skip} skip",
        *health_lines(RunHealth.from_json(manifest.health), config.run_id),
    ]
    if manifest.status == "success":
        lines += [f"  snapshot: {manifest.snapshot.path}",
                  "  dashboards: make dashboard  (http://localhost:8501)"]
    else:
        error = str(manifest.error)
        step = manifest.failed_step
        if step and error.startswith(f"{step}: "):
            error = error[len(step) + 2:]
        lines += [f"  failed step: {step}: {error}" if step else f"  failed: {error}",
                  f"  pointer unchanged; {_served(config)}"]
    lines.append(f"  manifest: {manifest.artifacts['manifest']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (UsageError, RunIdError) as exc:
        print(f"run_pipeline.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        check_room(config.home, config.users, config.days)
    except InsufficientSpaceError as exc:
        print(f"run_pipeline.py: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    home_paths = HomePaths(config.home)
    refused = unwritable_folders([home_paths.data_dir, home_paths.duckdb_dir,
                                  home_paths.logs_dir])
    if refused:
        names = ", ".join(f"{folder.name}/" for folder in refused)
        print(f"run_pipeline.py: error: cannot write to {names} in {config.home} (read-only or "
              "not permitted); nothing was written", file=sys.stderr)
        return EXIT_FAILED
    run = PipelineRun(config, run_plan(config.engine))
    started = time.monotonic()
    try:
        state = run.claim(started)
    except RunIdTakenError:
        print(f"run_pipeline.py: error: run id {config.run_id!r} is already used "
              f"(logs/pipeline_{config.run_id}.json exists); choose another --run-id",
              file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if is_disk_full(exc):
            needed = estimate_run_bytes(config.users, config.days)
            print(f"run_pipeline.py: error: cannot start the run: "
                  f"{disk_full_message(config.home, needed)}", file=sys.stderr)
            return EXIT_FAILED
        print(f"run_pipeline.py: error: cannot prepare {config.home}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    handlers = logging_setup.configure(run.paths.log, quiet=args.quiet)
    try:
        exit_code = run.execute(state)
    except (KeyboardInterrupt, RunInterrupted):
        # only a signal in the instant between the last step and the final bookkeeping gets
        # here; the next run settles this run's manifest as interrupted
        exit_code = EXIT_INTERRUPTED
    finally:
        logging_setup.detach(handlers)
    stream = sys.stdout if exit_code == EXIT_OK else sys.stderr
    print(_summary(state.manifest, config), file=stream)
    if run.unrecorded:
        print(f"  {run.unrecorded}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
