"""The redemption forecast's model choice and interval on series with a known answer.

The dbt Python model is plain Python; these tests load it from its file (dbt models are
not an importable package) and call its pure functions, no dbt or database involved.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pytest

from tests.dbt.conftest import PROJECT_DIR

HORIZON = 12


@pytest.fixture(scope="module")
def forecast_model() -> ModuleType:
    path = PROJECT_DIR / "models" / "intermediate" / "int_redemption_forecast_modelled.py"
    spec = importlib.util.spec_from_file_location("forecast_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_never_worse_than_a_baseline(module: ModuleType, result) -> None:
    """The chosen model's WAPE is no worse than any baseline's, and its band is honest."""
    chosen = next(b for b in result.backtests if b.name == result.chosen)
    baselines = [b for b in result.backtests if b.name in module.BASELINES]
    assert all(chosen.wape <= baseline.wape for baseline in baselines)
    assert 0.65 <= chosen.coverage_80 <= 0.95


def test_a_pure_trend_is_forecast_by_a_trend_model_that_beats_naive(forecast_model) -> None:
    weeks = np.arange(80)
    values = 100 + 5 * weeks + np.random.default_rng(1).normal(0, 3, 80)
    result = forecast_model.forecast_redemptions(values, HORIZON)
    assert result.chosen in {"ETS(A,A,N)", "ETS(A,Ad,N)"}
    assert result.verdict.startswith("beats the naive forecast by ")
    assert result.forecast[-1] > result.forecast[0] + 40  # keeps climbing ~5 a week
    _assert_never_worse_than_a_baseline(forecast_model, result)


def test_a_pure_seasonal_series_is_forecast_by_seasonal_naive(forecast_model) -> None:
    weeks = np.arange(120)
    values = (200 + 80 * np.sin(2 * np.pi * weeks / 52)
              + np.random.default_rng(2).normal(0, 5, 120))
    result = forecast_model.forecast_redemptions(values, HORIZON)
    assert result.chosen == "seasonal_naive"
    np.testing.assert_allclose(result.forecast, values[-52:-52 + HORIZON])
    _assert_never_worse_than_a_baseline(forecast_model, result)


def test_seasonal_naive_is_a_candidate_only_with_a_year_before_every_origin(
    forecast_model,
) -> None:
    short = forecast_model.backtest_origins(70, HORIZON)
    long = forecast_model.backtest_origins(80, HORIZON)
    assert "seasonal_naive" not in forecast_model.candidate_models(short)
    assert "seasonal_naive" in forecast_model.candidate_models(long)
    assert long == list(range(57, 69))


def test_white_noise_is_forecast_by_its_mean_not_the_last_week(forecast_model) -> None:
    values = np.random.default_rng(3).normal(100, 15, 80)
    result = forecast_model.forecast_redemptions(values, HORIZON)
    assert result.chosen in {"ETS(A,N,N)", "ETS(A,Ad,N)", "mean_4"}
    naive = next(b for b in result.backtests if b.name == "naive")
    chosen = next(b for b in result.backtests if b.name == result.chosen)
    assert chosen.wape < 0.9 * naive.wape
    assert 0.65 <= chosen.coverage_80 <= 0.95


def test_a_random_walk_is_no_better_than_naive(forecast_model) -> None:
    values = 500 + np.cumsum(np.random.default_rng(4).normal(0, 20, 80))
    result = forecast_model.forecast_redemptions(values, HORIZON)
    assert result.verdict == "no better than naive: read as a range"


def test_zero_weeks_are_left_out_of_mape_and_never_forecast_below_zero(forecast_model) -> None:
    rng = np.random.default_rng(5)
    values = rng.poisson(0.7, 80) * 25.0
    assert (values == 0).sum() > 20
    result = forecast_model.forecast_redemptions(values, HORIZON)
    assert result.chosen != "naive"  # a level, not last week's spike or zero, is the answer
    naive = next(b for b in result.backtests if b.name == "naive")
    positive = naive.actual > 0
    expected = np.mean(np.abs(naive.actual - naive.forecast)[positive] / naive.actual[positive])
    assert naive.mape_pct == pytest.approx(expected * 100)
    assert (result.lower >= 0).all() and (result.forecast >= result.lower).all()
    assert all(total["lower"] >= 0 for total in result.totals)
    _assert_never_worse_than_a_baseline(forecast_model, result)


def test_the_80_percent_interval_covers_about_80_percent_of_unseen_weeks(
    forecast_model,
) -> None:
    covered, weeks, totals_covered = 0, 0, 0
    for seed in range(8):
        series = 100 + np.random.default_rng(100 + seed).normal(0, 15, 60 + HORIZON)
        history, future = series[:60], series[60:]
        result = forecast_model.forecast_redemptions(history, HORIZON)
        covered += int(((future >= result.lower) & (future <= result.upper)).sum())
        weeks += HORIZON
        four = next(t for t in result.totals if t["horizon_weeks"] == 4)
        totals_covered += four["lower"] <= future[:4].sum() <= four["upper"]
        backtest = next(b for b in result.backtests if b.name == result.chosen)
        assert 0.65 <= backtest.coverage_80 <= 0.95
    assert 0.65 <= covered / weeks <= 0.95
    assert totals_covered >= 5


def test_interval_offsets_are_conformal_order_statistics(forecast_model) -> None:
    assert forecast_model._interval_offsets(np.arange(12.0)) == (0.0, 11.0)
    assert forecast_model._interval_offsets(np.arange(99.0)) == (9.0, 89.0)


def test_interval_never_excludes_the_point_forecast_or_goes_below_zero(forecast_model) -> None:
    lower, upper = forecast_model.interval(np.array([10.0, 1.0]), 5.0, (0.5, 2.0))
    np.testing.assert_allclose(lower, [10.0, 1.0])
    np.testing.assert_allclose(upper, [20.0, 11.0])
    lower, _ = forecast_model.interval(np.array([1.0]), 5.0, (-3.0, 1.0))
    assert lower[0] == 0.0


def test_too_short_a_history_uses_naive_and_says_so(forecast_model) -> None:
    result = forecast_model.forecast_redemptions(np.array([5.0, 7.0, 6.0]), HORIZON)
    assert result.backtests == []
    assert result.chosen == "naive"
    assert (result.forecast == 6.0).all()
    assert result.verdict.startswith("too little history")
