"""Nothing generated reaches the as-of instant, the exclusive end of the window.

A 1,000,000-user run once wrote an install-session ``app_open`` at exactly the as-of
instant: an install drawn in the window's last second, plus the one second between the
install and its first open. These properties pin the time helpers and the whole dataset,
for any seed, so that no offset added after a bound can cross it again.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation.source_tables import SOURCE_TABLES
from generator import vectors as vx
from generator.config import INSTALL_OPEN_DELAY_S, Window
from generator.data_generator import GeneratorConfig, generate_dataset
from generator.entities import _organic_install_times
from generator.parameters import DAY, PARAMETERS
from tests.generator.generator_testkit import connect

seeds = st.integers(min_value=0, max_value=2**32 - 1)
as_of_dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 12, 31))


def _window(as_of: dt.date, days: int) -> Window:
    return GeneratorConfig(seed=0, users=1, as_of=as_of, days=days).window


def test_install_session_fits_before_the_window_end() -> None:
    window = _window(dt.date(2026, 11, 1), 30)
    assert window.last_install + INSTALL_OPEN_DELAY_S == window.end - 1


def test_organic_installs_in_the_last_second_are_kept_inside_the_window() -> None:
    # 2,000,000 installs on a one-day window draw the day's last second many times over;
    # before the fix the latest install was end - 1, whose app_open fell on end itself.
    window = _window(dt.date(2026, 11, 1), 1)
    times = _organic_install_times(np.random.default_rng(5), 2_000_000, window, PARAMETERS)
    assert times.max() == window.last_install
    assert times.min() >= window.start


@settings(max_examples=60, deadline=None)
@given(seed=seeds, as_of=as_of_dates, days=st.integers(min_value=1, max_value=800),
       n=st.integers(min_value=1, max_value=5_000))
def test_organic_install_times_stay_in_the_window(
        seed: int, as_of: dt.date, days: int, n: int) -> None:
    window = _window(as_of, days)
    times = _organic_install_times(np.random.default_rng(seed), n, window, PARAMETERS)
    assert times.min() >= window.start
    assert times.max() <= window.last_install


@settings(max_examples=200, deadline=None)
@given(seed=seeds, horizon=st.floats(min_value=1e-6, max_value=4_000.0),
       alpha=st.sampled_from([0.5, 1.0, 1.0 + 1e-12, 1.5, PARAMETERS.activity_decay_alpha,
                              PARAMETERS.invite_decay_alpha, 3.0]))
def test_power_law_offsets_stay_below_their_horizon(
        seed: int, horizon: float, alpha: float) -> None:
    h = np.full(2_000, horizon)
    offsets = vx.truncated_power_law_days(np.random.default_rng(seed), h, alpha)
    assert offsets.min() >= 0.0
    assert offsets.max() < horizon


@settings(max_examples=200, deadline=None)
@given(seed=seeds)
def test_seconds_of_day_stay_inside_the_day(seed: int) -> None:
    seconds = vx.seconds_of_day(np.random.default_rng(seed), PARAMETERS.hour_weights, 5_000)
    assert seconds.min() >= 0
    assert seconds.max() < DAY


def _timestamp_bounds(out_dir: Path) -> dict[str, tuple[str | None, str | None]]:
    con = connect(out_dir)
    bounds = {}
    for spec in SOURCE_TABLES:
        for column in spec.columns:
            if column.type == "timestamp":
                lo, hi = con.execute(
                    f'select min("{column.name}")::varchar, max("{column.name}")::varchar '
                    f"from {spec.name}").fetchone()
                bounds[f"{spec.name}.{column.name}"] = (lo, hi)
    return bounds


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, as_of=as_of_dates, users=st.integers(min_value=1, max_value=400),
       days=st.integers(min_value=14, max_value=120))
def test_no_generated_timestamp_reaches_the_as_of_instant(
        seed: int, as_of: dt.date, users: int, days: int) -> None:
    config = GeneratorConfig(seed=seed, users=users, as_of=as_of, days=days)
    end = dt.datetime.combine(as_of, dt.time())
    with tempfile.TemporaryDirectory() as tmp:
        generate_dataset(Path(tmp), config)
        bounds = _timestamp_bounds(Path(tmp))
    assert bounds["app_events.event_time"][1] is not None  # every user installs: events exist
    for name, (_, hi) in bounds.items():
        if hi is not None:
            assert dt.datetime.fromisoformat(hi) < end, f"{name} reaches {hi}"
