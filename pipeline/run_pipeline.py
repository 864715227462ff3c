"""Run the whole pipeline once: generate, load raw, dbt build, snapshot, publish.

    python pipeline/run_pipeline.py [--home DIR] [--seed N] [--users N]
        [--as-of YYYY-MM-DD] [--days N] [--faults a,b,...] [--run-id ID]
        [--engine duckdb|spark] [--landing DIR|s3://bucket/prefix]
        [--source DIR|s3://bucket/prefix] [--archive s3://bucket/prefix]

Exit codes: 0 published (and archived, with --archive), 1 failed (pointer unchanged),
2 bad arguments, 3 published here but the archive upload failed (the archive's LATEST
unchanged), 130 interrupted (pointer unchanged; or, during the archive upload, published
here and not archived).

``CARTON_CAPS_HOME``, ``CARTON_CAPS_USERS``, ``CARTON_CAPS_SEED`` and ``CARTON_CAPS_ENGINE``
stand in for the flags they name (a flag wins), checked by the same rules; with
``CARTON_CAPS_ALERT_WEBHOOK`` (or ``--alert-webhook``) a run that fails, is interrupted or
publishes with warnings posts one alert (:mod:`pipeline.alerts`). :func:`launch` is a run
from its checks to its alert, the one entry the orchestrator (``orchestration/``) calls too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from foundation import cli_values, run_env
from foundation.paths import REPO_ROOT, HomePaths
from foundation.run_id import RunIdError, new_run_id, validate_run_id
from generator.config import (
    DEFAULT_DAYS,
    DEFAULT_USERS,
    FAULT_CLASSES,
    GeneratorConfig,
    GeneratorInputError,
    parse_faults,
    validate_config,
)
from pipeline.alerts.notify import notify
from pipeline.alerts.settings import AlertSettings, AlertSettingsError
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
from pipeline.lifecycle.step_types import UNIT_TEST_POLICIES, RunConfig, UnitTestPolicy
from pipeline.records import manifest as manifest_io
from pipeline.records.manifest import RunIdTakenError
from pipeline.records.pointer import PointerError, read_pointer
from pipeline.records.run_manifest import ManifestUpdate, RunManifest
from pipeline.steps.plan import ENGINES, SourcePlan, run_plan
from pipeline.storage.errors import StorageLocationError
from pipeline.storage.redact import RedactingFilter
from pipeline.storage.s3_client import settings_from_env
from pipeline.storage.uris import StorageLocation, parse_location
from pipeline.transform.unit_test_cache import default_policy as default_unit_test_policy

DEFAULT_SEED = 42
EXIT_USAGE = 2
#: the archive every run uploads to when --archive is not given
ARCHIVE_ENV = "CARTON_CAPS_ARCHIVE"


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
    parser.add_argument("--seed", default=None,
                        help=f"default ${run_env.SEED_ENV}, else {DEFAULT_SEED}")
    parser.add_argument("--users", default=None,
                        help=f"default ${run_env.USERS_ENV}, else {DEFAULT_USERS}")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today, UTC)")
    parser.add_argument("--days", default=str(DEFAULT_DAYS),
                        help=f"days of history (default {DEFAULT_DAYS})")
    parser.add_argument("--faults", default=None,
                        help=f"comma-separated fault classes: {', '.join(FAULT_CLASSES)}")
    parser.add_argument("--run-id", default=None,
                        help="[A-Za-z0-9_-]{1,64}; default: UTC timestamp + random suffix")
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help=f"where dbt builds the project (default ${run_env.ENGINE_ENV}, "
                             "else duckdb); spark lands raw as Parquet, builds on a local "
                             "Spark session and writes the result into the run's DuckDB "
                             "snapshot")
    parser.add_argument("--unit-tests", choices=UNIT_TEST_POLICIES, default=None,
                        help=f"dbt's unit tests: cached (once per code version: they test "
                             f"code, not data) or always (default ${run_env.UNIT_TESTS_ENV}, "
                             "else always when $CI is set, else cached)")
    parser.add_argument("--landing", default=None, metavar="DIR|s3://BUCKET/PREFIX",
                        help="where the generated source files land, one folder per run "
                             "(default: the home's data/); the load reads them there")
    parser.add_argument("--source", default=None, metavar="DIR|s3://BUCKET/PREFIX",
                        help="replay: load the source files already in this folder or prefix "
                             "(app.sqlite and the CSV exports, e.g. a previous run's "
                             "data/<run_id>/) instead of generating")
    parser.add_argument("--archive", default=None, metavar="s3://BUCKET/PREFIX",
                        help="after publishing, upload the run under runs/<run_id>/ and move "
                             f"the archive's LATEST (default: ${ARCHIVE_ENV}, if set)")
    parser.add_argument("--alert-webhook", default=None, metavar="URL",
                        help=f"post one JSON alert there when the run fails, is interrupted "
                             f"or publishes with warnings (default ${run_env.ALERT_WEBHOOK_ENV}"
                             "; prefer the variable: a flag shows in the process list)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def _location(value: str | None, what: str, *, allow_local: bool = True) -> StorageLocation | None:
    """A location option, checked as untrusted input (one line, exit 2, when unusable)."""
    if value is None:
        return None
    try:
        location = parse_location(value, what=what, allow_local=allow_local)
        if location.is_s3:
            settings_from_env()  # an unusable AWS_ENDPOINT_URL is refused before the run
    except StorageLocationError as exc:
        raise UsageError(str(exc)) from None
    return location


def _local_folder(location: StorageLocation, what: str, *, must_exist: bool) -> Path:
    path = (location.path or Path()).resolve()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path} is not a folder")
    if must_exist and not path.is_dir():
        raise UsageError(f"{what} {path} does not exist")
    return path


def storage_options(args: argparse.Namespace, home: Path,
                    env: Mapping[str, str]) -> dict[str, str | None]:
    """``--source``, ``--landing`` and ``--archive`` (else ``$CARTON_CAPS_ARCHIVE``) as
    the RunConfig holds them: checked, local folders resolved, s3 URIs normalised."""
    source = _location(args.source, "--source")
    landing = _location(args.landing, "--landing")
    archive_value = args.archive if args.archive is not None else (
        env.get(ARCHIVE_ENV) or None)
    archive = _location(archive_value, "--archive" if args.archive is not None
                        else ARCHIVE_ENV, allow_local=False)
    if source is not None and landing is not None:
        raise UsageError("--source and --landing exclude each other: a replay reads its "
                         "files where they are")
    if source is not None and args.faults is not None:
        raise UsageError("--faults injects faults while generating, and a replay (--source) "
                         "generates nothing: put the faulty files in the source instead")
    options: dict[str, str | None] = {"source": None, "landing": None,
                                      "archive": archive.uri() if archive else None}
    if source is not None:
        options["source"] = (source.uri() if source.is_s3
                             else str(_local_folder(source, "--source", must_exist=True)))
    if landing is not None:
        if landing.is_s3:
            options["landing"] = landing.uri()
        else:
            folder = _local_folder(landing, "--landing", must_exist=False)
            options["landing"] = None if folder == HomePaths(home).data_dir else str(folder)
    return options


def _relabelled(message: str, picked: Sequence[run_env.Picked], flags: Sequence[str]) -> str:
    """A generator message about a value that came from the environment names the
    variable (``CARTON_CAPS_USERS must be ...``), not a flag the user never typed."""
    for value, flag in zip(picked, flags, strict=True):
        if value.label != flag and message.startswith(f"{flag} "):
            return value.label + message[len(flag):]
    return message


def config_from_args(args: argparse.Namespace,
                     env: Mapping[str, str] | None = None) -> RunConfig:
    """Parse and validate every option before anything is written.

    Value ranges (users, days, seed, as-of, fault names) are the generator's rules, asked
    of the generator itself so the two can never disagree. ``--seed``, ``--users`` and
    ``--engine`` fall back to their environment variables (``env``, default the process's),
    checked by the same rules.
    """
    env = os.environ if env is None else env
    today = datetime.now(UTC).date()  # the wall clock, read once
    seed = run_env.pick("--seed", args.seed, env, run_env.SEED_ENV, str(DEFAULT_SEED))
    users = run_env.pick("--users", args.users, env, run_env.USERS_ENV, str(DEFAULT_USERS))
    engine = run_env.pick("--engine", args.engine, env, run_env.ENGINE_ENV, "duckdb")
    unit_tests = run_env.pick("--unit-tests", args.unit_tests, env, run_env.UNIT_TESTS_ENV,
                              default_unit_test_policy(env))
    try:
        generator_config = GeneratorConfig(
            seed=cli_values.whole_number(seed.label, seed.text),
            users=cli_values.whole_number(users.label, users.text),
            as_of=_as_of(args.as_of, today), days=cli_values.whole_number("--days", args.days),
            faults=parse_faults(args.faults),
        )
        validate_config(generator_config, today=today)
        engine_name = cli_values.choice(engine.label, engine.text, ENGINES)
        # choice() returns one of UNIT_TEST_POLICIES, the Literal's own values
        unit_test_policy = cast(UnitTestPolicy, cli_values.choice(
            unit_tests.label, unit_tests.text, UNIT_TEST_POLICIES))
    except (GeneratorInputError, cli_values.CliValueError) as exc:
        raise UsageError(_relabelled(str(exc), (seed, users), ("--seed", "--users"))) from None
    home_text = run_env.pick("--home", None if args.home is None else str(args.home), env,
                             run_env.HOME_ENV, str(REPO_ROOT))
    home = Path(home_text.text).expanduser().resolve()
    if home.exists() and not home.is_dir():
        raise UsageError(f"{home_text.label} {home} is not a directory")
    run_id = validate_run_id(args.run_id) if args.run_id is not None else new_run_id()
    return RunConfig(home=home, run_id=run_id, seed=generator_config.seed,
                     users=generator_config.users, as_of=generator_config.as_of,
                     days=generator_config.days, faults=generator_config.faults,
                     engine=engine_name, unit_tests=unit_test_policy,
                     **storage_options(args, home, env))


def source_plan(config: RunConfig) -> SourcePlan:
    """Which of the storage steps the run's options call for."""
    return SourcePlan(replay=config.source is not None,
                      land=config.landing is not None and config.landing.startswith("s3://"),
                      archive=config.archive is not None)


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


def source_lines(manifest: RunManifest) -> list[str]:
    """Where the run's sources were, when not generated on the home's disk."""
    record = manifest.sources
    if record is None or record.origin == "generated":
        return []
    how = "replayed from" if record.origin == "replay" else "landed in"
    size = sum(f.size for f in record.files)
    return [f"  sources: {how} {record.location} ({len(record.files)} files, {size:,} bytes)"]


def archive_lines(manifest: RunManifest, config: RunConfig) -> list[str]:
    """What the archive upload did, and what to do when it did not complete."""
    record = manifest.archive
    if config.archive is None:
        return []
    if record is not None and record.status == "archived":
        latest = ("LATEST moved to this run" if record.latest_updated
                  else f"LATEST stays on {record.latest_run_id} (a later as-of date)")
        return [f"  archive: {record.run_uri} ({record.files} files, {record.uploaded} "
                f"sent); {latest}"]
    error = record.error if record is not None and record.error else "not completed"
    return [f"  archive: NOT ARCHIVED: {error}",
            "  the snapshot is published and served here; the archive's LATEST was not "
            "moved; archive it again with:",
            f"    python pipeline/runs.py --archive {config.archive} push {config.run_id}"]


def _summary(manifest: RunManifest, config: RunConfig,
             env: Mapping[str, str] | None = None) -> str:
    """The lines printed when the run ends (``env``, default the process's: where the
    dashboards will listen, as ``make dashboard`` reads it)."""
    env = os.environ if env is None else env
    raw_rows = sum(manifest.row_counts.raw.values())
    marts = manifest.row_counts.marts
    dbt = manifest.dbt
    lines = [
        f"run {config.run_id}: {manifest.status.upper()} in {manifest.duration_s or 0:.1f}s",
        f"  rows: {raw_rows:,} raw; {sum(marts.values()):,} in {len(marts)} mart tables",
        f"  dbt: {dbt.passed} pass, {dbt.warn} warn, {dbt.error} error, {dbt.skip} skip",
        *health_lines(RunHealth.from_json(manifest.health), config.run_id),
    ]
    lines += source_lines(manifest)
    if manifest.status == "success":
        lines += [f"  snapshot: {manifest.snapshot.path}",
                  f"  dashboards: make dashboard  ({run_env.dashboard_url(env)})"]
        lines += archive_lines(manifest, config)
    else:
        error = str(manifest.error)
        step = manifest.failed_step
        if step and error.startswith(f"{step}: "):
            error = error[len(step) + 2:]
        lines += [f"  failed step: {step}: {error}" if step else f"  failed: {error}",
                  f"  pointer unchanged; {_served(config)}"]
    if manifest.alert is not None:
        lines.append(f"  alert: {_alert_line(manifest)}")
    lines.append(f"  manifest: {manifest.artifacts['manifest']}")
    return "\n".join(lines)


def _alert_line(manifest: RunManifest) -> str:
    alert = manifest.alert
    assert alert is not None
    if not alert.sent:
        return f"none sent ({alert.reason})"
    if alert.delivered:
        return f"{alert.trigger} alert delivered (HTTP {alert.status_code})"
    return f"{alert.trigger} alert NOT delivered after {alert.attempts} attempt(s): {alert.error}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        alerts = AlertSettings.from_env(os.environ, webhook_flag=args.alert_webhook)
    except (UsageError, RunIdError, AlertSettingsError) as exc:
        print(f"run_pipeline.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return launch(config, quiet=args.quiet, alerts=alerts).exit_code


@dataclass(frozen=True)
class Launched:
    """How a launched run ended: its exit code and, once it claimed its id, its manifest."""

    exit_code: int
    manifest: RunManifest | None = None
    #: why the run was refused before it claimed its id (the line printed on stderr)
    refused: str | None = None


def _refuse(exit_code: int, message: str) -> Launched:
    print(f"run_pipeline.py: error: {message}", file=sys.stderr)
    return Launched(exit_code, refused=message)


def launch(config: RunConfig, *, quiet: bool = False,
           alerts: AlertSettings | None = None) -> Launched:
    """One run, as every caller starts it: the home's checks, the claim, the steps of
    :func:`~pipeline.steps.plan.run_plan`, the summary and, after the final manifest, its
    one alert, whose outcome is added to the manifest (:mod:`pipeline.alerts`)."""
    try:
        check_room(config.home, config.users, config.days)
    except InsufficientSpaceError as exc:
        return _refuse(EXIT_FAILED, str(exc))
    home_paths = HomePaths(config.home)
    refused = unwritable_folders([home_paths.data_dir, home_paths.duckdb_dir,
                                  home_paths.logs_dir])
    if refused:
        names = ", ".join(f"{folder.name}/" for folder in refused)
        return _refuse(EXIT_FAILED, f"cannot write to {names} in {config.home} (read-only or "
                                    "not permitted); nothing was written")
    run = PipelineRun(config, run_plan(config.engine, source_plan(config)))
    started = time.monotonic()
    try:
        state = run.claim(started)
    except RunIdTakenError:
        return _refuse(EXIT_USAGE, f"run id {config.run_id!r} is already used "
                                   f"(logs/pipeline_{config.run_id}.json exists); choose "
                                   "another --run-id")
    except OSError as exc:
        if is_disk_full(exc):
            needed = estimate_run_bytes(config.users, config.days)
            return _refuse(EXIT_FAILED, f"cannot start the run: "
                                        f"{disk_full_message(config.home, needed)}")
        return _refuse(EXIT_USAGE, f"cannot prepare {config.home}: {exc}")
    handlers = logging_setup.configure(run.paths.log, quiet=quiet,
                                       filters=(RedactingFilter(),))
    try:
        try:
            exit_code = run.execute(state)
        except (KeyboardInterrupt, RunInterrupted):
            # only a signal in the instant between the last step and the final bookkeeping
            # gets here; the next run settles this run's manifest as interrupted
            exit_code = EXIT_INTERRUPTED
        _alert(run, state.manifest, alerts)
    finally:
        logging_setup.detach(handlers)
    stream = sys.stdout if exit_code == EXIT_OK else sys.stderr
    print(_summary(state.manifest, config), file=stream)
    if run.unrecorded:
        print(f"  {run.unrecorded}", file=sys.stderr)
    return Launched(exit_code, state.manifest)


def _alert(run: PipelineRun, manifest: RunManifest, alerts: AlertSettings | None) -> None:
    """The run's alert, after its final manifest; its outcome is saved with it."""
    record = None if alerts is None else notify(manifest, alerts)
    if record is None or run.unrecorded:
        return
    manifest.apply(ManifestUpdate(alert=record), step=None)
    try:
        manifest_io.save(run.paths.manifest, manifest)
    except OSError as exc:
        run.unrecorded = f"the alert's outcome could not be recorded in the manifest: {exc}"


if __name__ == "__main__":
    sys.exit(main())
