"""A run's generator inputs, their limits and checks, and the window they cover.

Apart from the generator itself because the pipeline's command line needs these before a
run starts, and the generator's modules import numpy, pyarrow, pandas and Faker (about
0.8 s): the run starts dbt's worker first, so that worker's own start overlaps them
(``pipeline/run_pipeline.py`` imports this module only).
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field

from generator.parameters import DAY, PARAMETERS, GeneratorParameters

#: the fault classes ``--faults`` may name (:mod:`generator.faults` injects them)
FAULT_CLASSES: tuple[str, ...] = (
    "duplicate_keys",
    "null_keys",
    "orphan_foreign_keys",
    "late_events",
    "future_events",
    "negative_amounts",
    "schema_drift_extra_column",
    "schema_drift_missing_column",
    "stale_export",
    "empty_table",
    "outage_day",
    "platform_outage",
    "replayed_day",
    "null_burst",
    "unit_change",
    "rejection_spike",
)

#: Users of a default run: generator + load + dbt build finish in about a minute.
DEFAULT_USERS = 20_000
#: Days of history of a default run: 18 months, so back-to-school, 12-month expiry and
#: mature retention cohorts all show up.
DEFAULT_DAYS = 540
MAX_USERS = 20_000_000
MAX_DAYS = 3_650
#: the largest seed: it is stored as a BIGINT (ops.pipeline_runs.seed) beside the run
MAX_SEED = 2**63 - 1
MIN_DAYS = 14


class GeneratorInputError(ValueError):
    """Invalid generator input; the message is shown to the user as-is."""


@dataclass(frozen=True)
class GeneratorConfig:
    """One run's inputs. ``as_of`` is the exclusive end (00:00:00Z) of the covered days."""

    seed: int
    users: int
    as_of: dt.date
    days: int = DEFAULT_DAYS
    faults: tuple[str, ...] = ()
    params: GeneratorParameters = field(default=PARAMETERS, repr=False)

    @property
    def window(self) -> Window:
        end = int(dt.datetime.combine(self.as_of, dt.time(), dt.UTC).timestamp())
        return Window(start=end - self.days * DAY, end=end)


def _is_int(value: object) -> bool:
    """An integer, numpy's included (they register as ``numbers.Integral``), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def parse_faults(text: str | None) -> tuple[str, ...]:
    """Fault class names from ``--faults a,b``; empty entries and repeats are refused, since
    they are typos that would otherwise be silently dropped or applied once."""
    if text is None:
        return ()
    if not text.strip():
        raise GeneratorInputError(
            f"--faults is empty; name at least one fault class ({', '.join(FAULT_CLASSES)}) "
            "or leave the option out")
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise GeneratorInputError(
            f"--faults has an empty name in {text!r}; separate fault classes with single commas")
    return names


def validate_config(config: GeneratorConfig, *, today: dt.date | None = None) -> None:
    """Raise :class:`GeneratorInputError` with a user-facing message for bad input.

    ``today`` (UTC) is passed by the command lines, which read the wall clock once; with it,
    an ``as_of`` after tomorrow is refused (a history that has not happened yet). The
    generator itself never reads the clock, so it validates without it.
    """
    if not _is_int(config.users) or config.users <= 0:
        raise GeneratorInputError(f"--users must be a positive integer, got {config.users}")
    if config.users > MAX_USERS:
        raise GeneratorInputError(f"--users must be at most {MAX_USERS}, got {config.users}")
    if not _is_int(config.seed) or not 0 <= config.seed <= MAX_SEED:
        raise GeneratorInputError(
            f"--seed must be an integer between 0 and {MAX_SEED}, got {config.seed}")
    if not _is_int(config.days) or not MIN_DAYS <= config.days <= MAX_DAYS:
        raise GeneratorInputError(
            f"--days must be an integer between {MIN_DAYS} and {MAX_DAYS}, got {config.days}")
    if not isinstance(config.as_of, dt.date) or isinstance(config.as_of, dt.datetime):
        raise GeneratorInputError(f"--as-of must be a date (YYYY-MM-DD), got {config.as_of!r}")
    if not (config.as_of.year - config.days // 365 >= 1990 and config.as_of.year <= 9000):
        raise GeneratorInputError(f"--as-of is out of range, got {config.as_of.isoformat()}")
    if today is not None and config.as_of > today + dt.timedelta(days=1):
        raise GeneratorInputError(
            f"--as-of must be at most tomorrow ({(today + dt.timedelta(days=1)).isoformat()}, "
            f"UTC), got {config.as_of.isoformat()}")
    seen: set[str] = set()
    for name in config.faults:
        if name not in FAULT_CLASSES:
            raise GeneratorInputError(
                f"unknown fault {name!r}; known: {', '.join(FAULT_CLASSES)}")
        if name in seen:
            raise GeneratorInputError(f"--faults names {name!r} more than once")
        seen.add(name)


#: The install session's first ``app_open`` comes this many seconds after the install.
INSTALL_OPEN_DELAY_S = 1


@dataclass(frozen=True)
class Window:
    """The covered time range [start, end) in epoch seconds (end = as-of midnight UTC)."""

    start: int
    end: int

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY

    @property
    def last_install(self) -> int:
        """The latest instant an install may happen: its session's first ``app_open``
        (``INSTALL_OPEN_DELAY_S`` later) must still fall before ``end``, the as-of instant."""
        return self.end - 1 - INSTALL_OPEN_DELAY_S
