"""Anomaly scoring of daily series (pipeline.checks.series_anomalies) on synthetic series."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from pipeline.checks.series_anomalies import (
    DEFAULT_SETTINGS_PATH,
    MetricSettings,
    MonitoringSettings,
    SeriesScores,
    exact_binomial_z,
    load_settings,
    score_metrics,
    score_series,
    settings_from_mapping,
    weekday,
)

LAST_DAY = int((np.datetime64("2026-10-31") - np.datetime64("1970-01-01")).astype(int))
DAYS = np.arange(LAST_DAY - 399, LAST_DAY + 1)
COUNTS = MetricSettings(noise="poisson")
SHARES = MetricSettings(direction="up", scale="linear", noise="binomial", trend=False,
                        min_relative_change=0.0, min_absolute_change=0.1)
WEEKEND = np.where(weekday(DAYS) >= 5, 1.6, 1.0)


def counts(level: float = 2_000.0, growth: float = 0.0, seasonal: np.ndarray | None = None,
           seed: int = 0) -> np.ndarray:
    """A Poisson count series: level x (1 + growth) per day x weekday effect."""
    mean = level * (1 + growth) ** np.arange(len(DAYS)) * (
        WEEKEND if seasonal is None else seasonal)
    return np.random.default_rng(seed).poisson(mean).astype(float)


def score(values: np.ndarray, settings: MetricSettings = COUNTS,
          volumes: np.ndarray | None = None) -> SeriesScores:
    return score_series(DAYS, values, values if volumes is None else volumes, LAST_DAY,
                        settings)


def at(scores: SeriesScores, days_back: int) -> int:
    """The column of a day counted back from the last day (1 = the last day)."""
    return len(scores.days) - days_back


def flagged_days_back(scores: SeriesScores) -> list[int]:
    return sorted(LAST_DAY - day + 1 for day in scores.flagged_days())


def test_a_growing_weekly_series_stays_quiet() -> None:
    for seed in range(5):
        scores = score(counts(growth=0.004, seed=seed))
        assert scores.is_flagged.sum() == 0, seed
    detection = scores.period == "detection"
    assert detection.sum() == 7 and (scores.period == "history").sum() == 91


def test_weekday_effects_are_expected_and_a_weekday_peak_is_not() -> None:
    values = counts()
    saturday = int(np.flatnonzero(weekday(DAYS[-7:]) == 5)[0]) - 7
    tuesday = int(np.flatnonzero(weekday(DAYS[-7:]) == 1)[0]) - 7
    scores = score(values)
    assert not scores.is_flagged[0, saturday]
    assert scores.expected[0, saturday] == pytest.approx(3_200, rel=0.05)
    assert scores.expected[0, tuesday] == pytest.approx(2_000, rel=0.05)
    values[tuesday] = 4_000  # twice a weekday's volume, more than a weekend's, on a Tuesday
    assert score(values).is_flagged[0, tuesday]
    assert not score(values, dataclasses.replace(COUNTS, direction="down")).is_flagged.any()
    doubled = counts(seasonal=np.where(weekday(DAYS) >= 5, 2.2, 1.0))
    assert score(doubled).is_flagged.sum() == 0
    flat = dataclasses.replace(COUNTS, seasonality="none")
    assert score(doubled, flat).is_flagged.sum() > 0  # weekends would look like anomalies


def test_the_trend_carries_a_growing_series_forward() -> None:
    values = counts(level=500, growth=0.02)  # +15 % a week
    trended = score(values)
    assert trended.is_flagged.sum() == 0
    expected = trended.expected[0, at(trended, 1)]
    assert expected == pytest.approx(values[-1], rel=0.1)
    untrended = score(values, dataclasses.replace(COUNTS, trend=False))
    assert untrended.expected[0, at(untrended, 1)] < 0.9 * expected


def test_the_detection_period_never_trains_its_own_band() -> None:
    values = counts()
    values[-7:] *= 0.3  # the whole detection period fell by 70 %
    scores = score(values)
    assert flagged_days_back(scores) == [1, 2, 3, 4, 5, 6, 7]
    assert np.all(scores.expected[0, -7:] > 1_500)


def test_days_flagged_earlier_leave_later_training_windows() -> None:
    values = counts(seasonal=np.ones(len(DAYS)))
    history = np.arange(len(DAYS) - 7 - 91, len(DAYS) - 7)
    spikes = history[5:65:3]  # 20 outlier days in the history blocks
    values[spikes] *= 4
    kept = score(values, dataclasses.replace(COUNTS, max_excluded_share=0.0))
    left_out = score(values)
    assert len(left_out.flagged_days()) >= 20
    width = left_out.upper[0, -1] - left_out.lower[0, -1]
    assert width < kept.upper[0, -1] - kept.lower[0, -1]


def test_a_few_huge_outliers_in_training_barely_move_the_band() -> None:
    clean = counts(seasonal=np.ones(len(DAYS)))
    dirty = clean.copy()
    dirty[-30:-8:5] *= 50
    a, b = score(clean), score(dirty)
    assert b.upper[0, -1] - b.lower[0, -1] == pytest.approx(a.upper[0, -1] - a.lower[0, -1],
                                                           rel=0.25)
    assert b.is_flagged[0, -7:].sum() == 0


def test_a_series_below_the_minimum_volume_is_not_scored() -> None:
    values = counts(level=6, seasonal=np.ones(len(DAYS)))
    values[-1] = 0
    scores = score(values)
    assert not scores.is_flagged.any()
    assert scores.reason[0, -1].startswith("not scored: median training volume 6")
    assert np.isnan(scores.expected[0, -1])


def test_a_new_series_is_not_scored_until_it_has_enough_training_days() -> None:
    values = counts()
    values[:-40] = np.nan
    assert not score(values).reason[0, -1].startswith("not scored")  # 33 days are enough
    values[:-30] = np.nan
    assert score(values).reason[0, -1] == "not scored: 23 usable training days (minimum 28)"


def test_direction_a_share_that_falls_is_not_an_anomaly() -> None:
    rng = np.random.default_rng(1)
    rows = np.full(len(DAYS), 5_000.0)
    shares = rng.binomial(5_000, 0.2, len(DAYS)) / 5_000
    up, down = shares.copy(), shares.copy()
    up[-2], down[-2] = 0.9, 0.0
    assert flagged_days_back(score(up, SHARES, rows)) == [2]
    fell = score(down, SHARES, rows)
    assert flagged_days_back(fell) == []
    assert "only rises are flagged" in fell.reason[0, -2]


def test_a_share_that_is_always_zero_flags_a_burst_but_not_a_stray_null() -> None:
    rows = np.full(len(DAYS), 1_000.0)
    shares = np.zeros(len(DAYS))
    shares[-3] = 0.9
    shares[-5] = 0.002
    assert flagged_days_back(score(shares, SHARES, rows)) == [3]


def test_a_change_smaller_than_the_minimum_is_reported_but_not_flagged() -> None:
    values = counts(level=1_000_000, seasonal=np.ones(len(DAYS)))
    values[-1] *= 0.8  # 20 % down: far outside a band this narrow
    values[-2] *= 0.4  # 60 % down
    scores = score(values)
    assert flagged_days_back(scores) == [2]
    assert scores.score[0, -1] < -4
    assert "(minimum change -40 % / +67 %)" in scores.reason[0, -1]
    assert scores.reason[0, -2].startswith("399,847 is 60 % below the expected 999,673 (band")


def test_a_disabled_metric_is_never_scored() -> None:
    values = counts()
    values[-1] = 0
    scores = score(values, dataclasses.replace(COUNTS, enabled=False))
    assert not scores.is_flagged.any()
    assert scores.reason[0, -1] == "not scored: disabled in the monitoring settings"


def test_settings_are_overridden_per_metric_and_dimension_in_order() -> None:
    settings = settings_from_mapping({
        "defaults": {"threshold": 5, "min_volume": 20},
        "metrics": [
            {"match": "*.row_count", "noise": "poisson", "why": "counts"},
            {"match": "app_events.row_count", "dimension": "platform", "threshold": 6},
        ]})
    assert settings.for_series("dau").threshold == 5.0
    assert settings.for_series("dau").min_volume == 20
    assert settings.for_series("receipts.row_count").noise == "poisson"
    assert settings.for_series("app_events.row_count", "platform").threshold == 6.0
    assert settings.for_series("app_events.row_count", "all").threshold == 5.0


@pytest.mark.parametrize(("document", "message"), [
    ({"defaults": {"treshold": 3}}, "unknown setting 'treshold' in defaults"),
    ({"metrics": [{"match": "dau", "direction": "sideways"}]},
     "setting direction must be one of both, up, down, not 'sideways'"),
    ({"metrics": [{"threshold": 3}]}, r"metrics\[0\] needs a 'match' pattern"),
    ({"metrics": [{"match": "dau", "trend": "yes"}]}, "trend in metrics.0. .dau. must be true"),
    ({"limits": {}}, r"unknown section\(s\) \['limits'\]"),
])
def test_bad_settings_are_refused_with_the_reason(document: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_mapping(document)


def test_the_project_settings_file_loads_and_documents_every_rule() -> None:
    settings = load_settings()
    assert DEFAULT_SETTINGS_PATH.name == "monitoring_settings.yml"
    assert settings.defaults.detection_days == 7
    assert settings.defaults.training_days >= 56  # 8+ weeks of training (docs/fault_detection.md)
    assert settings.for_series("app_events.properties.null_share").direction == "up"
    assert settings.for_series("dau").direction == "down"
    assert not settings.for_series("rewards_ledger.amount_cents.sum", "all").enabled
    assert settings.for_series("rewards_ledger.amount_cents.sum", "entry_type").enabled


def test_load_settings_reads_another_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.yml"
    path.write_text("defaults:\n  threshold: 3.5\n", encoding="utf-8")
    assert load_settings(path) == MonitoringSettings(MetricSettings(threshold=3.5))


def _long(series: dict[tuple[str, str, str], np.ndarray]) -> pd.DataFrame:
    dates = pd.to_datetime(DAYS, unit="D")
    return pd.concat([pd.DataFrame({
        "metric": metric, "dimension": dimension, "dimension_value": value,
        "metric_date": dates, "value": values, "volume": np.nan_to_num(values)})
        for (metric, dimension, value), values in series.items()], ignore_index=True)


def test_score_metrics_scores_every_series_of_the_long_table() -> None:
    broken = counts(seed=3)
    broken[-4] = 40
    metrics = _long({("app_events.row_count", "all", "all"): counts(seed=2),
                     ("app_events.row_count", "platform", "android"): broken,
                     ("dau", "all", "all"): counts(level=300, seed=4)})
    scores = score_metrics(metrics, load_settings())
    assert list(scores.columns) == ["metric", "dimension", "dimension_value", "period",
                                    "reason", "actual", "expected", "lower", "upper",
                                    "score", "volume", "is_flagged", "metric_date"]
    detection = scores[scores.period == "detection"]
    assert len(detection) == 3 * 7
    assert detection.metric_date.min() == pd.Timestamp("2026-10-25")
    assert detection.metric_date.max() == pd.Timestamp("2026-10-31")
    flags = detection[detection.is_flagged]
    assert flags[["metric", "dimension", "dimension_value"]].values.tolist() == [
        ["app_events.row_count", "platform", "android"]]
    assert flags.metric_date.tolist() == [pd.Timestamp("2026-10-28")]
    assert "below the expected" in flags.reason.iloc[0]


def test_score_metrics_of_no_rows_has_the_columns_and_no_rows() -> None:
    empty = pd.DataFrame(columns=["metric", "dimension", "dimension_value", "metric_date",
                                  "value", "volume"])
    assert score_metrics(empty, load_settings()).empty
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['volume'\]"):
        score_metrics(empty.drop(columns="volume"), load_settings())


def test_the_last_day_may_be_given() -> None:
    metrics = _long({("dau", "all", "all"): counts(level=300)})
    scores = score_metrics(metrics, load_settings(), last_day=dt.date(2026, 10, 24))
    assert scores[scores.period == "detection"].metric_date.max() == pd.Timestamp(
        "2026-10-24")


def test_the_silences_of_a_sparse_series_are_not_judged_but_a_dense_ones_are() -> None:
    """A day's longest silence is chance when a table has a few rows a day (a clean run of
    3,000 users flagged receipts' 19.3 h silence on a day of 8 receipts)."""
    gap = load_settings().for_series("receipts.max_gap_hours", "all")
    gaps = np.random.default_rng(3).normal(5.0, 0.8, len(DAYS)).clip(1.0)
    gaps[-1] = 19.3
    sparse = score(gaps, gap, volumes=np.full(len(DAYS), 15.0))
    assert not sparse.is_flagged.any()
    assert sparse.reason[0, -1].startswith("not scored: median training volume 15")
    dense = score(gaps, gap, volumes=np.full(len(DAYS), 500.0))
    assert flagged_days_back(dense) == [1]


def test_a_small_event_series_is_judged_as_a_count_of_users_not_of_events() -> None:
    """A clean run of 1,000 users flagged ios at 11 events against 31 expected (z -5.2):
    a user sends 2.6 events a day, so counted in events a day of a few users' sessions
    looked like an outage. Counted in clusters of 3 it is a bad day; a platform whose
    events are all gone is still flagged."""
    project = load_settings().for_series("app_events.row_count", "platform")
    assert project.cluster_size == 3.0
    as_rows = dataclasses.replace(project, cluster_size=1.0)
    flagged_as_rows = 0
    for seed in range(10):
        values = counts(level=31, seasonal=np.ones(len(DAYS)), seed=seed)
        values[-1] = 11
        flagged_as_rows += bool(score(values, as_rows).is_flagged[0, -1])
        assert not score(values, project).is_flagged[0, -1], seed
        values[-1] = 0
        assert score(values, project).is_flagged[0, -1], seed
    assert flagged_as_rows >= 8


def test_a_share_of_a_few_rows_is_judged_on_the_arcsine_scale() -> None:
    """A clean run of 1,000 users flagged android's user_id null share at 6 anonymous
    events in 10 (1 in 770 at the usual 13 %): on the linear scale a binomial's long tail
    on a day of a few rows reads as a normal's (z 4.2)."""
    project = load_settings().for_series("app_events.user_id.null_share", "platform")
    assert project.scale == "arcsine"
    linear = dataclasses.replace(project, scale="linear")
    flagged = {"arcsine": 0, "linear": 0}
    for seed in range(40):
        rng = np.random.default_rng(seed)
        rows = rng.integers(8, 30, len(DAYS)).astype(float)
        shares = rng.binomial(rows.astype(int), 0.13) / rows
        rows[-1], shares[-1] = 10.0, 0.6
        flagged["arcsine"] += bool(score(shares, project, rows).is_flagged[0, -1])
        flagged["linear"] += bool(score(shares, linear, rows).is_flagged[0, -1])
        shares[-1] = 0.9  # a field emptied by a release: 9 in 10
        assert score(shares, project, rows).is_flagged[0, -1], seed
    assert flagged["arcsine"] == 0 and flagged["linear"] >= 10, flagged


def test_a_stores_few_rejections_are_not_judged_as_a_count() -> None:
    """A clean run of 200,000 users flagged one store's 4 rejected receipts on a day of 17
    scanned (0 or 1 on other days, z 5.1): at that size the rejection rate judges it."""
    rejected = load_settings().for_series("receipts_rejected", "store_name")
    days = np.random.default_rng(2).poisson(0.5, len(DAYS)).astype(float)
    days[-1] = 4
    sparse = score(days, rejected, volumes=np.full(len(DAYS), 12.0))
    assert not sparse.is_flagged.any()
    assert sparse.reason[0, -1].startswith("not scored: median training volume 12")


#: the last day of users that is judged (its last 2 days are still maturing)
MATURE_DAY = -3


def _share_series(seed: int, rows_between: tuple[int, int],
                  rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows per day and their binomial share at ``rate``."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(*rows_between, len(DAYS)).astype(float)
    return rows, rng.binomial(rows.astype(int), rate) / rows


def test_a_share_of_a_few_rows_near_half_is_judged_by_its_binomial_tail() -> None:
    """A clean run of 5,000 users flagged users.phone_hash's null share at 8 of 8 new
    users against the usual 56 % (chance 0.9 %, z 4.1 on the arcsine scale)."""
    project = load_settings().for_series("users.phone_hash.null_share", "all")
    rows, shares = _share_series(8, (6, 20), 0.56)
    day = MATURE_DAY
    rows[day], shares[day] = 8.0, 1.0
    judged = score(shares, project, rows)
    assert not judged.is_flagged[0, day]
    assert judged.score[0, day] == pytest.approx(2.35, abs=0.25)
    rows[day] = 40.0  # 40 of 40: no chance at all
    assert score(shares, project, rows).is_flagged[0, day]


def test_a_falling_share_is_judged_by_its_lower_binomial_tail() -> None:
    """A share watched for drops (an override to ``direction: both``) is tempered by the
    chance of at most this many rows: 0 of 4 at the usual 50 % happens one day in 16, 0
    of 60 never."""
    project = dataclasses.replace(
        load_settings().for_series("users.phone_hash.null_share", "all"), direction="both")
    rows, shares = _share_series(3, (40, 80), 0.5)
    day = MATURE_DAY
    rows[day], shares[day] = 4.0, 0.0
    few = score(shares, project, rows)
    assert not few.is_flagged[0, day]
    assert -2.0 < few.score[0, day] < 0
    rows[day] = 60.0
    many = score(shares, project, rows)
    assert many.is_flagged[0, day] and many.score[0, day] <= -project.threshold


def test_each_binomial_tail_is_taken_at_its_least_surprising_rate() -> None:
    """A rise is judged at the higher of the expected and pooled rates, a fall at the
    lower: 0 of 10 at 30 % has a 2.8 % chance (z 1.91), at 50 % only 0.1 % (z 3.10)."""
    share, rows = np.array([[0.0, 1.0]]), np.array([[10.0, 10.0]])
    for expected, pooled in ((0.3, 0.5), (0.5, 0.3)):
        upper, lower = exact_binomial_z(
            share, rows, np.full((1, 2), expected), np.array([pooled]))
        assert lower[0, 0] == pytest.approx(-1.91, abs=0.01)  # 0.7 ** 10, at 30 %
        assert upper[0, 1] == pytest.approx(-ndtri(0.5 ** 10), abs=0.01)  # 10 of 10 at 50 %
    upper, lower = exact_binomial_z(
        share, rows, np.full((1, 2), 0.3), np.array([np.nan]))
    assert lower[0, 0] == pytest.approx(-1.91, abs=0.01)
    assert upper[0, 1] == pytest.approx(-ndtri(0.3 ** 10), abs=0.01)
