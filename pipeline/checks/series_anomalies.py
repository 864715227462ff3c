"""Anomalies in daily metric series: an expected band per day, and the days that leave it.

Pure functions of frames (numpy and pandas, no DuckDB, no dbt), so the dbt Python model
``monitoring_metrics_scored`` and the pipeline call the same code. The input is the long
table ``monitoring_metrics_daily`` (metric, dimension, dimension_value, metric_date, value,
volume); every (metric, dimension, dimension_value) is one daily series.

How a day is judged (each step a setting, :class:`MetricSettings`, overridable per metric
in ``dbt_carton_caps/monitoring_settings.yml``):

* **Periods.** The detection period is the last ``detection_days`` complete days. Before
  it, ``history_days`` are scored the same way in blocks of ``detection_days`` (oldest
  first), so charts have a band and earlier flags are known.
* **Training window.** The ``training_days`` before a block, never the block itself, minus
  the days flagged in earlier blocks (unless flags cover more than ``max_excluded_share``
  of the window: then the series has shifted and the shift is learned). Fewer than
  ``min_training_days`` usable days, or a training median volume below ``min_volume``: the
  day is not scored (small series stay quiet).
* **Scale.** ``log`` (signed ``log1p``) for counts and money, where growth, weekday
  patterns and faults are multiplicative; ``linear`` for shares and rates.
* **Trend.** A Theil-Sen slope through the weekly medians of the window (weekday effects
  cancel within a week; one odd week cannot tilt it), so a growing app is expected to
  keep growing.
* **Seasonality.** Day-of-week effects: the median detrended value of each weekday.
* **Centre.** The median of the detrended, deseasonalised values of the last
  ``level_days`` of the window, carried forward along the trend: the level of the recent
  weeks, not of the whole window.
* **Spread.** 1.4826 x the median absolute deviation of the window's residuals (robust:
  outliers barely move it), widened for the uncertainty of the centre, and never below
  the sampling noise the volume implies (``noise``: Poisson for counts, of clusters of
  ``cluster_size`` rows where rows come together; binomial for shares; fewer rows for
  means) nor ``min_spread``.
* **Flag.** ``|score| >= threshold`` where score = (actual - centre) / spread on the
  metric's scale, in the metric's ``direction`` (``down``, ``up`` or ``both``), with a
  change of at least ``min_relative_change`` of the expected value (on the log scale a
  factor, the same both ways: 0.4 is -40 % or +67 %, see :func:`big_enough`) and at least
  ``min_absolute_change`` in the metric's units.
* **Maturity.** The last ``maturity_days`` are not judged for metrics whose source
  settles later (receipts pending review, funnels in progress, payouts under way).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Direction = Literal["both", "up", "down"]
Scale = Literal["log", "linear", "arcsine"]
Noise = Literal["poisson", "binomial", "mean", "none"]
Seasonality = Literal["day_of_week", "none"]

#: The settings file the dbt model reads (one YAML, every setting overridable per metric).
DEFAULT_SETTINGS_PATH = (Path(__file__).resolve().parents[2] / "dbt_carton_caps"
                         / "monitoring_settings.yml")
#: 1 / Phi^-1(3/4): turns a median absolute deviation into a normal standard deviation.
MAD_TO_SIGMA = 1.4826
#: Variance of a sample median relative to the mean's (pi / 2), for the centre's error.
MEDIAN_VARIANCE = math.pi / 2
#: A week's median needs this many days of the week, the trend this many weeks.
MIN_DAYS_PER_WEEK = 4
MIN_TREND_WEEKS = 4
#: Each weekday needs this many training values before weekday effects are estimated.
MIN_DAYS_PER_WEEKDAY = 3
#: The recent level needs this many values; with fewer, the whole window's median is used.
MIN_LEVEL_DAYS = 5

INPUT_COLUMNS = ("metric", "dimension", "dimension_value", "metric_date", "value", "volume")
OUTPUT_COLUMNS = ("metric", "dimension", "dimension_value", "period", "reason", "actual",
                  "expected", "lower", "upper", "score", "volume", "is_flagged", "metric_date")
_CHOICES: dict[str, tuple[str, ...]] = {
    "direction": ("both", "up", "down"),
    "scale": ("log", "linear", "arcsine"),
    "noise": ("poisson", "binomial", "mean", "none"),
    "seasonality": ("day_of_week", "none"),
}


@dataclass(frozen=True)
class MetricSettings:
    """How one series is scored. Defaults are the project's defaults (the YAML may change
    them for every metric or some)."""

    enabled: bool = True
    direction: Direction = "both"
    scale: Scale = "log"
    noise: Noise = "none"
    seasonality: Seasonality = "day_of_week"
    trend: bool = True
    detection_days: int = 7
    history_days: int = 91
    training_days: int = 84
    min_training_days: int = 28
    level_days: int = 14
    trend_days: int = 84
    threshold: float = 4.0
    min_relative_change: float = 0.4
    min_absolute_change: float = 0.0
    min_volume: float = 10.0
    min_spread: float = 0.0
    cluster_size: float = 1.0
    max_excluded_share: float = 0.34
    maturity_days: int = 0

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"setting {name} must be one of {', '.join(allowed)}, "
                                 f"not {getattr(self, name)!r}")
        for name in ("detection_days", "training_days", "min_training_days", "level_days",
                     "trend_days"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"setting {name} must be at least 1")
        if self.history_days < 0 or self.maturity_days < 0 or self.threshold <= 0:
            raise ValueError("settings history_days and maturity_days must be >= 0 and "
                             "threshold > 0")
        if not self.cluster_size >= 1:
            raise ValueError("setting cluster_size must be at least 1")

    @property
    def is_share(self) -> bool:
        """A share or rate in [0, 1] (shown in per cent)."""
        return self.noise == "binomial"


@dataclass(frozen=True)
class SettingsRule:
    """Overrides for the series whose metric (and dimension) match the glob patterns."""

    metric: str
    dimension: str = "*"
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, metric: str, dimension: str) -> bool:
        return (fnmatch.fnmatchcase(metric, self.metric)
                and fnmatch.fnmatchcase(dimension, self.dimension))


@dataclass(frozen=True)
class MonitoringSettings:
    """The defaults and the per-metric rules, applied in order (a later rule wins)."""

    defaults: MetricSettings = field(default_factory=MetricSettings)
    rules: tuple[SettingsRule, ...] = ()

    def for_series(self, metric: str, dimension: str = "all") -> MetricSettings:
        resolved = self.defaults
        for rule in self.rules:
            if rule.matches(metric, dimension):
                resolved = replace(resolved, **rule.overrides)
        return resolved


_SETTING_TYPES = {f.name: f.type for f in fields(MetricSettings)}


def _typed(name: str, value: Any, where: str) -> Any:
    if name not in _SETTING_TYPES:
        raise ValueError(f"monitoring settings: unknown setting {name!r} in {where} "
                         f"(known: {', '.join(_SETTING_TYPES)})")
    default = getattr(MetricSettings(), name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"monitoring settings: {name} in {where} must be true or false")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"monitoring settings: {name} in {where} must be a number")
        return type(default)(value)
    return str(value)


def settings_from_mapping(document: Mapping[str, Any]) -> MonitoringSettings:
    """Settings from the YAML's content: ``defaults`` (a mapping) and ``metrics`` (a list
    of ``{match: <metric glob>, dimension: <glob, optional>, <setting>: <value>, ...}``)."""
    unknown = set(document) - {"defaults", "metrics"}
    if unknown:
        raise ValueError(f"monitoring settings: unknown section(s) {sorted(unknown)}")
    defaults_doc = document.get("defaults") or {}
    defaults = MetricSettings(**{name: _typed(name, value, "defaults")
                                 for name, value in defaults_doc.items()})
    rules = []
    for index, rule in enumerate(document.get("metrics") or ()):
        if not isinstance(rule, Mapping) or "match" not in rule:
            raise ValueError(f"monitoring settings: metrics[{index}] needs a 'match' pattern")
        where = f"metrics[{index}] ({rule['match']})"
        overrides = {name: _typed(name, value, where) for name, value in rule.items()
                     if name not in ("match", "dimension", "why")}
        replace(defaults, **overrides)  # validates the values once, here
        rules.append(SettingsRule(metric=str(rule["match"]),
                                  dimension=str(rule.get("dimension", "*")),
                                  overrides=overrides))
    return MonitoringSettings(defaults=defaults, rules=tuple(rules))


def load_settings(path: Path | None = None) -> MonitoringSettings:
    """The settings in ``path`` (default: :data:`DEFAULT_SETTINGS_PATH`)."""
    import yaml

    source = path or DEFAULT_SETTINGS_PATH
    document = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    return settings_from_mapping(document)


# --------------------------------------------------------------------------- one series


def _forward(values: np.ndarray, scale: Scale) -> np.ndarray:
    """The metric on its scoring scale: signed log1p (log), arcsin(sqrt()) of a share in
    [0, 1] (arcsine: binomial noise becomes the same at every rate, 1 / (2 sqrt(n))), or
    itself (linear)."""
    if scale == "log":
        return np.sign(values) * np.log1p(np.abs(values))
    if scale == "arcsine":
        return np.arcsin(np.sqrt(np.clip(values, 0.0, 1.0)))
    return values


def _inverse(values: np.ndarray, scale: Scale) -> np.ndarray:
    if scale == "log":
        return np.sign(values) * np.expm1(np.abs(values))
    if scale == "arcsine":
        return np.sin(np.clip(values, 0.0, np.pi / 2)) ** 2
    return values


def weekday(days: np.ndarray | int) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 of days counted from 1970-01-01 (a Thursday)."""
    return (np.asarray(days) + 3) % 7


def _nanmedian(values: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """The median over ``axis`` ignoring NaNs (NaN where a slice has no value): one sort,
    the same result as ``np.nanmedian``, without its slow masked-array path."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(a % values.ndim for a in axes)
    kept = [a for a in range(values.ndim) if a not in axes]
    moved = np.transpose(values, kept + list(axes))
    flat = moved.reshape(*moved.shape[:len(kept)], -1)
    ordered = np.sort(flat, axis=-1)  # NaNs sort last
    n = np.isfinite(flat).sum(axis=-1)
    low = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(ordered, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    high = np.where(n % 2 == 1, low, high)
    return np.where(n > 0, (low + high) / 2, np.nan)


@dataclass(frozen=True)
class WindowFit:
    """What one training window says about the days after it, for a stack of series
    (arrays with one entry per series; values on the metric's scale)."""

    anchor: int  # the window's last day (the day before the judged block)
    level: np.ndarray  # deseasonalised level at the anchor
    slope: np.ndarray  # per day
    seasonal: np.ndarray  # (series, 7) weekday effects, Monday first
    spread: np.ndarray  # robust standard deviation of the residuals, centre error included
    volume: np.ndarray  # median volume of the usable training days
    days: np.ndarray  # usable training days
    pooled: np.ndarray  # volume-weighted mean of the training values (a share's pooled rate)

    def centre(self, days: np.ndarray) -> np.ndarray:
        """(series, days) expected values on the metric's scale."""
        return (self.level[:, None] + self.slope[:, None] * (days - self.anchor)[None, :]
                + self.seasonal[:, weekday(days)])


def fit_window(values: np.ndarray, volumes: np.ndarray, anchor: int,
               settings: MetricSettings, raw: np.ndarray | None = None) -> WindowFit:
    """Trend, weekday effects, recent level and robust spread of one training window.

    ``values`` (on the metric's scale) and ``volumes`` are (series, days) arrays of the
    window's days, the last one being ``anchor``; NaN marks a day that is missing or left
    out. Every step is a median over an array (series x weeks x 7 days).
    """
    series, length = values.shape
    raw = values if raw is None else raw
    weeks = math.ceil(length / 7)
    span = weeks * 7  # the window padded at its start to whole weeks
    pad = np.full((series, span - length), np.nan)
    y = np.concatenate([pad, values], axis=1)
    v = np.concatenate([pad, volumes], axis=1)
    relative = np.arange(-span + 1, 1, dtype=float)  # day - anchor
    cube = y.reshape(series, weeks, 7)

    slope = np.zeros(series)
    if settings.trend:
        trend_weeks = min(weeks, max(MIN_TREND_WEEKS, math.ceil(settings.trend_days / 7)))
        recent = cube[:, -trend_weeks:, :]
        counts = np.isfinite(recent).sum(axis=2)
        medians = np.where(counts >= MIN_DAYS_PER_WEEK, _nanmedian(recent, axis=2), np.nan)
        centres = relative.reshape(weeks, 7).mean(axis=1)[-trend_weeks:]
        i, j = np.triu_indices(trend_weeks, k=1)
        pair_slopes = (medians[:, j] - medians[:, i]) / (centres[j] - centres[i])
        enough = np.isfinite(medians).sum(axis=1) >= MIN_TREND_WEEKS
        slope = np.nan_to_num(np.where(enough, _nanmedian(pair_slopes, axis=1), 0.0))
    detrended = cube - slope[:, None, None] * relative.reshape(1, weeks, 7)

    seasonal_columns = np.zeros((series, 7))
    if settings.seasonality == "day_of_week":
        counts = np.isfinite(detrended).sum(axis=1)
        medians = _nanmedian(detrended, axis=1)
        ok = (counts >= MIN_DAYS_PER_WEEKDAY).all(axis=1)
        centred = medians - np.nanmean(np.where(np.isfinite(medians), medians, 0.0), axis=1,
                                       keepdims=True)
        seasonal_columns = np.where(ok[:, None], np.nan_to_num(centred), 0.0)
    adjusted = (detrended - seasonal_columns[:, None, :]).reshape(series, span)
    # column c of the padded window is the weekday of (anchor - span + 1 + c)
    seasonal = np.zeros((series, 7))
    seasonal[:, weekday(anchor - span + 1 + np.arange(7))] = seasonal_columns

    tail = adjusted[:, -settings.level_days:]
    n_tail = np.isfinite(tail).sum(axis=1)
    n_all = np.isfinite(adjusted).sum(axis=1)
    use_tail = n_tail >= MIN_LEVEL_DAYS
    level = np.where(use_tail, _nanmedian(tail, axis=1), _nanmedian(adjusted, axis=1))
    n_level = np.maximum(np.where(use_tail, n_tail, n_all), 1)
    centre = _nanmedian(adjusted, axis=1)
    mad = _nanmedian(np.abs(adjusted - centre[:, None]), axis=1)
    spread = MAD_TO_SIGMA * mad * np.sqrt(1.0 + MEDIAN_VARIANCE / n_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where(np.isfinite(raw) & np.isfinite(volumes), volumes, 0.0)
        pooled = np.nansum(np.where(weights > 0, raw, 0.0) * weights, axis=1) / weights.sum(
            axis=1)
    return WindowFit(anchor=anchor, level=level, slope=slope, seasonal=seasonal,
                     spread=spread, volume=_nanmedian(v, axis=1),
                     days=np.isfinite(values).sum(axis=1), pooled=pooled)


def _fmt(value: float, share: bool) -> str:
    if share:
        return f"{value * 100:.1f} %"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def _reason(value: float, expected: float, lower: float, upper: float, score: float,
            flagged: bool, settings: MetricSettings) -> str:
    """Why a scored day is or is not flagged, in words a stakeholder reads."""
    share = settings.is_share
    change = value - expected
    relative = abs(change) / abs(expected) if expected else math.inf
    rises = score > 0
    band = f"band {_fmt(lower, share)} to {_fmt(upper, share)}; z {score:+.1f}"
    if share:
        moved = f"{abs(change) * 100:.1f} points {'above' if rises else 'below'}"
    elif expected:
        moved = f"{relative * 100:.0f} % {'above' if rises else 'below'}"
    else:
        moved = "above" if rises else "below"
    if flagged:
        return f"{_fmt(value, share)} is {moved} the expected {_fmt(expected, share)} ({band})"
    if abs(score) < settings.threshold:
        return f"within the expected band ({band})"
    if settings.direction != "both" and (settings.direction == "up") != rises:
        only = "drops" if settings.direction == "down" else "rises"
        return (f"outside the band ({band}) but a {'rise' if rises else 'drop'}: only "
                f"{only} are flagged for this metric")
    if not big_enough(np.array(value), np.array(expected), settings.min_relative_change,
                      settings.scale):
        m = settings.min_relative_change
        minimum = (f"-{m * 100:.0f} % / +{(1 / (1 - m) - 1) * 100:.0f} %"
                   if settings.scale == "log" and m < 1 else f"{m * 100:.0f} %")
    else:
        minimum = _fmt(settings.min_absolute_change, share)
    return (f"outside the band ({band}) but only {moved} the expected "
            f"{_fmt(expected, share)} (minimum change {minimum})")


def big_enough(actual: np.ndarray, expected: np.ndarray, minimum: float,
               scale: Scale) -> np.ndarray:
    """Whether a change is at least ``minimum`` of the expected value. On the log scale a
    change is a factor, the same either way: a drop to (1 - minimum) of the expected value
    or a rise by 1 / (1 - minimum) (0.4: -40 % or +67 %; 0.5: halved or doubled); values of
    opposite signs always are. On the linear scale it is |actual - expected| / |expected|."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "log":
            if minimum >= 1:
                return np.zeros(np.broadcast(actual, expected).shape, dtype=bool) | (
                    np.sign(actual) != np.sign(expected))
            low, high = np.minimum(np.abs(actual), np.abs(expected)), np.maximum(
                np.abs(actual), np.abs(expected))
            shrink = np.where(high > 0, low / high, 1.0)
            return (shrink <= 1 - minimum + 1e-12) | (
                (np.sign(actual) != np.sign(expected)) & (high > 0))
        relative = np.where(expected != 0, np.abs(actual - expected) / np.abs(expected),
                            np.inf)
        return relative >= minimum


def exact_binomial_z(share: np.ndarray, rows: np.ndarray, expected: np.ndarray,
                     pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How unusual a day's share is as a binomial draw, as normal scores: (upper, lower),
    the chance of at least (at most) this many of the day's rows, each read as a z. A
    normal reads a binomial's tail far too thin for a day of a few rows near half: 8 of 8
    at 56 % has a 0.9 % chance (z 2.4) but scored 4.1 on the arcsine scale.

    Each tail is taken at the rate that makes it least surprising, of the expected rate
    and the window's pooled rate: the higher one for a rise, the lower one for a fall,
    so the tail only ever tempers a score."""
    from scipy.special import betainc, ndtri

    known_pooled = np.broadcast_to(np.asarray(pooled, dtype=float)[:, None], expected.shape)
    known_pooled = np.where(np.isfinite(known_pooled), known_pooled, expected)
    rate_up = np.clip(np.maximum(expected, known_pooled), 1e-9, 1 - 1e-9)
    rate_down = np.clip(np.minimum(expected, known_pooled), 1e-9, 1 - 1e-9)
    n = np.where(np.isfinite(rows) & (rows > 0), rows, np.nan)
    k = np.clip(share, 0.0, 1.0) * n
    with np.errstate(invalid="ignore"):
        # P(X >= k) = I_rate(k, n - k + 1) and P(X <= k) = 1 - I_rate(k + 1, n - k),
        # continuous in k (a share times its rows)
        at_least = np.where(k > 0, betainc(np.maximum(k, 1e-9), n - k + 1, rate_up), 1.0)
        at_most = np.where(k < n, 1.0 - betainc(k + 1, np.maximum(n - k, 1e-9), rate_down),
                           1.0)

    def as_z(tail: np.ndarray) -> np.ndarray:
        return np.clip(-ndtri(np.clip(tail, 1e-300, 1.0)), 0.0, 40.0)
    return as_z(at_least), -as_z(at_most)


def _temper_with_exact_tail(score: np.ndarray, raw: np.ndarray, volumes: np.ndarray,
                            expected: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """A share on the arcsine scale is flagged only when its exact binomial tail agrees
    with the robust score: the robust score knows how much the share moves from day to
    day (rows in clusters move it more), the tail how likely the day is as a draw of its
    few rows. A day without a row count keeps its robust score."""
    upper, lower = exact_binomial_z(raw, volumes, expected, pooled)
    counted = np.isfinite(volumes) & (volumes > 0)
    tempered = np.where(score > 0, np.minimum(score, upper), np.maximum(score, lower))
    return np.where(counted & np.isfinite(score), tempered, score)


def _judge(fit: WindowFit, days: np.ndarray, raw: np.ndarray, volumes: np.ndarray,
           settings: MetricSettings) -> dict[str, np.ndarray]:
    """Expected value, band, score and flag of (series, days) against their fits."""
    scale = settings.scale
    centre = fit.centre(days)
    fit_volume = fit.volume[:, None]
    spread = np.broadcast_to(fit.spread[:, None], centre.shape).copy()
    counted = np.isfinite(volumes) & (volumes > 0)
    if settings.noise == "mean":  # a mean over fewer rows than usual is noisier
        fewer = counted & (volumes < fit_volume)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = np.where(fewer, spread * np.sqrt(fit_volume / volumes), spread)
    expected = _inverse(centre, scale)
    if settings.noise == "poisson" and scale == "log":
        # rows that come in clusters (a user's events of a day) vary like a count of
        # clusters: volume / cluster_size of them
        spread = np.maximum(spread, np.sqrt(settings.cluster_size
                                            / np.maximum(fit_volume, 1.0)))
    if settings.noise == "binomial":
        n = np.maximum(np.where(counted, volumes, fit_volume), 1.0)
        if scale == "arcsine":
            spread = np.maximum(spread, 1.0 / (2.0 * np.sqrt(n)))
        else:
            # the pooled training rate keeps a sparse series (most days 0 of a few)
            # honest: the median of its daily shares is 0, its rate is not; one success
            # in two more trials (p = (np + 1) / (n + 2)) keeps a day of a few rows from
            # reading a binomial's long tail as a normal's
            rate = np.maximum(expected, np.nan_to_num(fit.pooled)[:, None])
            p = (n * np.clip(rate, 0.0, 1.0) + 1.0) / (n + 2.0)
            spread = np.maximum(spread, np.sqrt(p * (1 - p) / n))
    spread = np.maximum(np.nan_to_num(spread), settings.min_spread)
    spread = np.where(spread > 0, spread, 1e-9)  # no noise at all: any change is a step
    lower = _inverse(centre - settings.threshold * spread, scale)
    upper = _inverse(centre + settings.threshold * spread, scale)
    if settings.is_share:
        expected, lower, upper = (np.clip(a, 0.0, 1.0) for a in (expected, lower, upper))
    score = (_forward(raw, scale) - centre) / spread
    if settings.noise == "binomial" and scale == "arcsine":
        score = _temper_with_exact_tail(score, raw, volumes, expected, fit.pooled)
    change = np.abs(raw - expected)
    allowed = {"both": np.isfinite(score), "up": score > 0,
               "down": score < 0}[settings.direction]
    flagged = ((np.abs(score) >= settings.threshold) & allowed
               & big_enough(raw, expected, settings.min_relative_change, scale)
               & (change >= settings.min_absolute_change) & np.isfinite(raw))
    return {"expected": expected, "lower": lower, "upper": upper, "score": score,
            "flagged": flagged}


def block_starts(last_day: int, settings: MetricSettings) -> list[int]:
    """First days of the scored blocks, oldest first; the last one is the detection period."""
    length = settings.detection_days
    history_blocks = math.ceil(settings.history_days / length)
    return [last_day - length + 1 - k * length for k in range(history_blocks, -1, -1)]


def first_needed_day(last_day: int, settings: MetricSettings) -> int:
    """The oldest day the scoring reads: the first block's training window."""
    return block_starts(last_day, settings)[0] - settings.training_days


@dataclass(frozen=True)
class SeriesScores:
    """The scored days of a stack of series, as (series, days) arrays: what was seen,
    what was expected, the verdict and why (NaN where a day had no value or was not
    scored)."""

    days: np.ndarray  # (days,) day numbers (days since 1970-01-01)
    period: np.ndarray  # (days,) 'history' or 'detection'
    actual: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    score: np.ndarray
    volume: np.ndarray
    is_flagged: np.ndarray
    reason: np.ndarray  # (series, days) of str

    def flagged_days(self, series: int = 0) -> list[int]:
        return [int(d) for d in self.days[self.is_flagged[series]]]


def score_stack(values: np.ndarray, volumes: np.ndarray, first: int, last_day: int,
                settings: MetricSettings) -> SeriesScores:
    """Every day of the history blocks and the detection period of a stack of series.

    ``values`` and ``volumes`` are (series, days) arrays from day number ``first`` to
    ``last_day`` (NaN: no row that day; a count series comes zero-filled from the metrics
    model). Blocks are judged oldest first, each against its own training window; a day
    flagged in one block leaves the training windows of the later ones, unless flags are
    more than ``max_excluded_share`` of that window.
    """
    starts = block_starts(last_day, settings)
    length, training = settings.detection_days, settings.training_days
    if starts[0] - training < first:
        raise ValueError("the arrays must start at first_needed_day()")
    series = values.shape[0]
    scaled = _forward(values, settings.scale)
    present = np.isfinite(values)
    trainable = present & np.isfinite(volumes)
    flagged = np.zeros(values.shape, dtype=bool)
    scored_days = np.arange(starts[0], last_day + 1)
    n = len(scored_days)
    columns = {key: np.full((series, n), np.nan) for key in
               ("expected", "lower", "upper", "score")}
    reasons = np.full((series, n), "no value on this day", dtype=object)
    for block, start in enumerate(starts):
        at = slice(block * length, (block + 1) * length)
        lo, hi = start - training - first, start - first
        i = np.arange(start, start + length) - first
        day_present = present[:, i]
        if not settings.enabled:
            reasons[:, at][day_present] = "not scored: disabled in the monitoring settings"
            continue
        usable = trainable[:, lo:hi]
        earlier = (usable & flagged[:, lo:hi]).sum(axis=1)
        leave_out = (earlier > 0) & (earlier <= settings.max_excluded_share * usable.sum(axis=1))
        usable = usable & ~(flagged[:, lo:hi] & leave_out[:, None])
        fit = fit_window(np.where(usable, scaled[:, lo:hi], np.nan),
                         np.where(usable, volumes[:, lo:hi], np.nan), start - 1, settings,
                         raw=np.where(usable, values[:, lo:hi], np.nan))
        too_short = fit.days < settings.min_training_days
        too_small = ~too_short & ~(fit.volume >= settings.min_volume)
        scoreable = ~too_short & ~too_small
        verdict = _judge(fit, np.arange(start, start + length), values[:, i], volumes[:, i],
                         settings)
        mature = np.arange(start, start + length) <= last_day - settings.maturity_days
        judged = scoreable[:, None] & day_present & mature[None, :]
        flagged[:, i] = verdict["flagged"] & judged
        for key in columns:
            columns[key][:, at] = np.where(judged, verdict[key], np.nan)
        block_reasons = reasons[:, at]
        for s in np.flatnonzero(too_short):
            block_reasons[s, day_present[s]] = (
                f"not scored: {int(fit.days[s])} usable training days "
                f"(minimum {settings.min_training_days})")
        for s in np.flatnonzero(too_small):
            block_reasons[s, day_present[s]] = (
                f"not scored: median training volume {float(fit.volume[s]):g} "
                f"(minimum {settings.min_volume:g})")
        if not mature.all():
            block_reasons[(scoreable[:, None] & day_present) & ~mature[None, :]] = (
                f"not scored: the last {settings.maturity_days} days are still maturing")
        # in words for every day judged now, and for the flagged days of the history
        # (the other history days say only that they were scored: the marts show their band)
        worded = judged if block == len(starts) - 1 else judged & flagged[:, i]
        block_reasons[judged & ~worded] = "scored"
        for s, k in zip(*np.nonzero(worded), strict=True):
            block_reasons[s, k] = _reason(
                float(values[s, i[k]]), float(verdict["expected"][s, k]),
                float(verdict["lower"][s, k]), float(verdict["upper"][s, k]),
                float(verdict["score"][s, k]), bool(verdict["flagged"][s, k]), settings)
        reasons[:, at] = block_reasons
    period = np.full(n, "history", dtype=object)
    period[-length:] = "detection"
    i = scored_days - first
    return SeriesScores(days=scored_days, period=period, actual=values[:, i],
                        volume=volumes[:, i], is_flagged=flagged[:, i], reason=reasons,
                        **columns)


def score_series(days: np.ndarray, values: np.ndarray, volumes: np.ndarray, last_day: int,
                 settings: MetricSettings) -> SeriesScores:
    """One series given as (day number, value, volume) observations: :func:`score_stack`
    of a stack of one (days without an observation have no value)."""
    first = first_needed_day(last_day, settings)
    size = last_day - first + 1
    dense = np.full((2, size), np.nan)
    keep = (days >= first) & (days <= last_day)
    dense[0, days[keep] - first] = values[keep]
    dense[1, days[keep] - first] = volumes[keep]
    return score_stack(dense[:1], dense[1:], first, last_day, settings)


# --------------------------------------------------------------------------- every series


_EPOCH = np.datetime64("1970-01-01", "D")


def _day_numbers(dates: pd.Series) -> np.ndarray:
    return (pd.to_datetime(dates).to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64)


def score_metrics(metrics: pd.DataFrame, settings: MonitoringSettings,
                  last_day: date | None = None) -> pd.DataFrame:
    """Score every series of the long metrics table; one row per series and scored day.

    ``last_day`` is the last complete day (the as-of date minus one); by default the
    newest ``metric_date`` of the table, which the metrics model ends on.
    """
    missing = [c for c in INPUT_COLUMNS if c not in metrics.columns]
    if missing:
        raise ValueError(f"metrics table lacks column(s) {missing}")
    if metrics.empty:
        return empty_scores()
    day_numbers = _day_numbers(metrics["metric_date"])
    last = (int((np.datetime64(last_day, "D") - _EPOCH).astype(np.int64))
            if last_day is not None else int(day_numbers.max()))
    keys = ("metric", "dimension", "dimension_value")
    combined = np.zeros(len(metrics), dtype=np.int64)
    uniques = []
    for key in keys:
        key_codes, key_uniques = pd.factorize(metrics[key], sort=False)
        combined = combined * (len(key_uniques) + 1) + key_codes
        uniques.append((np.asarray(key_uniques, dtype=object), len(key_uniques) + 1))
    series_ids, codes = np.unique(combined, return_inverse=True)
    series_keys = []
    for series_id in series_ids:
        parts = []
        for key_values, base in reversed(uniques):
            parts.append(str(key_values[series_id % base]))
            series_id //= base
        series_keys.append(tuple(reversed(parts)))
    order = sorted(range(len(series_keys)), key=series_keys.__getitem__)
    groups: dict[MetricSettings, list[int]] = {}
    for index in order:
        metric, dimension, _value = series_keys[index]
        groups.setdefault(settings.for_series(metric, dimension), []).append(index)
    day_values = day_numbers
    values = pd.to_numeric(metrics["value"]).to_numpy(float)
    volumes = pd.to_numeric(metrics["volume"]).to_numpy(float)
    columns: dict[str, list[Any]] = {name: [] for name in OUTPUT_COLUMNS}
    for group_settings, members in groups.items():
        first = first_needed_day(last, group_settings)
        size = last - first + 1
        position = np.full(len(series_keys), -1)
        position[members] = np.arange(len(members))
        rows = (position[codes] >= 0) & (day_values >= first) & (day_values <= last)
        stack = np.full((2, len(members), size), np.nan)
        where = (position[codes[rows]], day_values[rows] - first)
        stack[0][where] = values[rows]
        stack[1][where] = volumes[rows]
        scores = score_stack(stack[0], stack[1], first, last, group_settings)
        n = len(scores.days)
        for index in members:
            for name, value in zip(keys, series_keys[index], strict=True):
                columns[name].append(np.full(n, value, dtype=object))
        columns["period"].append(np.tile(scores.period, len(members)))
        columns["metric_date"].append(np.tile(scores.days, len(members)))
        for name in ("reason", "actual", "expected", "lower", "upper", "score", "volume",
                     "is_flagged"):
            columns[name].append(getattr(scores, name).reshape(-1))
    return _typed_frame(pd.DataFrame({name: np.concatenate(parts)
                                      for name, parts in columns.items()}))


def empty_scores() -> pd.DataFrame:
    """The scores of no series: the output's columns and types, no rows."""
    return _typed_frame(pd.DataFrame({column: [] for column in OUTPUT_COLUMNS}))


def _typed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[list(OUTPUT_COLUMNS)].copy()
    for column in ("actual", "expected", "lower", "upper", "score", "volume"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["is_flagged"] = frame["is_flagged"].astype(bool)
    if not pd.api.types.is_datetime64_any_dtype(frame["metric_date"]):
        frame["metric_date"] = (_EPOCH + frame["metric_date"].to_numpy(np.int64)).astype(
            "datetime64[ns]")
    for column in ("metric", "dimension", "dimension_value", "period", "reason"):
        frame[column] = frame[column].astype(object)
    return frame
