"""Date presets of the analytics pages and the period each is compared with.

Pure date arithmetic, anchored on the last date with data (a snapshot's "today" is its
as-of date, not the wall clock), so a preset means the same thing on every run.
"""

from __future__ import annotations

from datetime import date, timedelta

LAST_4_WEEKS = "Last 4 weeks"
LAST_13_WEEKS = "Last 13 weeks"
QUARTER_TO_DATE = "Quarter to date"
LAST_QUARTER = "Last quarter"
YEAR_TO_DATE = "Year to date"
ALL = "All dates"
CUSTOM = "Custom range"
PRESETS: tuple[str, ...] = (LAST_4_WEEKS, LAST_13_WEEKS, QUARTER_TO_DATE, LAST_QUARTER,
                            YEAR_TO_DATE, ALL, CUSTOM)
#: 13 weeks: long enough for a trend, short enough to leave out the launch ramp
DEFAULT_PRESET = LAST_13_WEEKS


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset_range(preset: str, low: date, high: date) -> tuple[date, date]:
    """The (start, end) of a preset ending at ``high``, clipped to the data's ``low``."""
    if preset == LAST_4_WEEKS:
        start, end = high - timedelta(weeks=4) + timedelta(days=1), high
    elif preset == LAST_13_WEEKS:
        start, end = high - timedelta(weeks=13) + timedelta(days=1), high
    elif preset == QUARTER_TO_DATE:
        start, end = _quarter_start(high), high
    elif preset == LAST_QUARTER:
        end = _quarter_start(high) - timedelta(days=1)
        start = _quarter_start(end)
    elif preset == YEAR_TO_DATE:
        start, end = date(high.year, 1, 1), high
    else:
        start, end = low, high
    return max(start, low), max(min(end, high), low)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of equal length just before ``start`` (what a KPI delta compares with)."""
    length = end - start + timedelta(days=1)
    return start - length, start - timedelta(days=1)


def observed_days(week_start: date, as_of: date) -> int:
    """Days of the week starting ``week_start`` that a run with this as-of date covers
    (the as-of date is the exclusive end of the data): 0 for a week after it, 7 for a
    week before it, between for the week that holds it."""
    return max(0, min(7, (as_of - week_start).days))
