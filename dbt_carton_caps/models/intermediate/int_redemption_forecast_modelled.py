"""Weekly redemption forecast with measured skill (docs/design.md#redemption-forecast).

Candidate models (exponential smoothing variants) and baselines (naive, mean of the last
4 weeks, seasonal naive when every back-test origin has a full year of history) are
compared by a rolling-origin back-test: at each origin the model is fitted on the weeks
before it and forecasts the next `horizon` weeks. The model with the lowest WAPE is used
(ties go to the simpler model), so its back-test error is never worse than the best
baseline's. The 80 % interval is the point forecast plus the 10th and 90th percentiles of
the back-test errors (conformal order statistics), measured in units of the recent weekly
level so a growing series keeps its calibration; its coverage is measured honestly, each
origin judged by an interval calibrated on the other origins only. The 4- and 12-week
totals get their own interval from the back-test errors of totals (errors of adjacent
weeks are correlated, so summing weekly bounds would be wrong).

grain: one row per record: 'week' (week_start and kind: 'actual' observed complete week,
'forecast' next `horizon` weeks), 'model' (one per candidate, its back-test errors),
'total' (one per total horizon: 4 and 12 weeks). The marts split them.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

SEASON_WEEKS = 52
LOWER_QUANTILE, UPPER_QUANTILE = 0.10, 0.90
MAX_ORIGINS = 12
MIN_TRAIN_WEEKS = 16
LEVEL_WEEKS = 8
TOTAL_HORIZONS = (4, 12)
#: Verdict threshold: less than this much lower WAPE than naive is not skill worth a claim.
MIN_SKILL = 0.05
BASELINES = ("naive", "mean_4", "seasonal_naive")
ETS_SPECS = {
    "ETS(A,N,N)": {"trend": None, "damped_trend": False},
    "ETS(A,Ad,N)": {"trend": "add", "damped_trend": True},
    "ETS(A,A,N)": {"trend": "add", "damped_trend": False},
}
#: Simplest first: the order that breaks ties in back-test error.
SIMPLICITY = (*BASELINES, *ETS_SPECS)


def _to_pandas(relation, adapter_type=None) -> pd.DataFrame:
    """A dbt.ref()/dbt.source() relation as a pandas DataFrame, on every engine we target.

    Portability helper: dbt-duckdb hands Python models a DuckDBPyRelation (``.df()``),
    dbt-spark / dbt-databricks a pyspark DataFrame (``.toPandas()``). The adapter type comes
    from the model config (``adapter_type`` = target.type, set in the YAML, read with
    ``dbt.config.get``); when it is missing or unknown we fall back to duck-typing.
    """
    if adapter_type == "duckdb":
        return relation.df()
    if adapter_type in ("spark", "databricks"):
        return relation.toPandas()
    if hasattr(relation, "toPandas"):  # pyspark DataFrame
        return relation.toPandas()
    if hasattr(relation, "df"):  # DuckDBPyRelation
        return relation.df()
    if isinstance(relation, pd.DataFrame):
        return relation
    raise TypeError(f"cannot convert {type(relation).__name__} to pandas")


def _ets_forecast(train: np.ndarray, spec: dict, steps: int) -> np.ndarray:
    """ETS point forecast; a series ETS cannot fit (constant, too short) repeats its last value."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if np.ptp(train) == 0:
        return np.full(steps, train[-1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = ETSModel(pd.Series(train), error="add", **spec).fit(disp=False)
            forecast = np.asarray(fitted.forecast(steps), dtype=float)
    except (ValueError, np.linalg.LinAlgError):
        return np.full(steps, train[-1])
    return forecast if np.isfinite(forecast).all() else np.full(steps, train[-1])


def point_forecast(name: str, train: np.ndarray, steps: int) -> np.ndarray:
    """The named model's forecast of the `steps` weeks after `train`, never below zero."""
    if name == "naive":
        forecast = np.full(steps, train[-1])
    elif name == "mean_4":
        forecast = np.full(steps, train[-4:].mean())
    elif name == "seasonal_naive":
        forecast = np.array([train[len(train) - SEASON_WEEKS + h % SEASON_WEEKS]
                             for h in range(steps)])
    else:
        forecast = _ets_forecast(train, ETS_SPECS[name], steps)
    return np.clip(forecast.astype(float), 0.0, None)


def backtest_origins(n_weeks: int, horizon: int) -> list[int]:
    """Forecast origins (weeks of training history): the last `MAX_ORIGINS` that leave a full
    horizon of actuals after them and at least `MIN_TRAIN_WEEKS` weeks before them."""
    last = n_weeks - horizon
    return list(range(max(MIN_TRAIN_WEEKS, last - MAX_ORIGINS + 1), last + 1))


def candidate_models(origins: list[int]) -> list[str]:
    """Every model the history allows: seasonal naive needs a year before every origin."""
    names = ["naive", "mean_4"]
    if origins and min(origins) >= SEASON_WEEKS:
        names.append("seasonal_naive")
    return [*names, *ETS_SPECS]


def _level(train: np.ndarray) -> float:
    """The recent weekly level that scales errors (1 when the recent weeks are all zero)."""
    level = float(np.mean(np.abs(train[-LEVEL_WEEKS:])))
    return level if level > 0 else 1.0


def _interval_offsets(scaled_errors: np.ndarray) -> tuple[float, float]:
    """The 10th and 90th percentile of the errors as conformal order statistics.

    Of n exchangeable errors, a new one falls between the i-th and j-th smallest with
    probability (j - i) / (n + 1); i = floor(0.1 (n + 1)), j = ceil(0.9 (n + 1)) makes that
    at least 80 % even for the dozen errors a total has (plain quantiles would cover ~67 %).
    """
    ordered = np.sort(np.asarray(scaled_errors, dtype=float))
    n = len(ordered)
    low = max(int(np.floor(LOWER_QUANTILE * (n + 1))), 1)
    high = min(int(np.ceil(UPPER_QUANTILE * (n + 1))), n)
    return float(ordered[low - 1]), float(ordered[high - 1])


def interval(forecast: np.ndarray, level: float,
             offsets: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The 80 % interval: forecast + level x error percentiles, never below zero, and never
    excluding the point forecast itself (the same rule is used when coverage is measured)."""
    lower = np.clip(np.minimum(forecast + level * offsets[0], forecast), 0.0, None)
    upper = np.maximum(forecast + level * offsets[1], forecast)
    return lower, upper


def _cross_validated_coverage(actual: np.ndarray, forecast: np.ndarray,
                              levels: np.ndarray) -> float | None:
    """Share of back-test actuals inside the 80 % interval calibrated WITHOUT their origin.

    actual/forecast: origins x weeks; levels: one per origin. In-sample calibration would
    cover 80 % by construction; leaving each origin out measures the real coverage.
    """
    if len(actual) < 2:
        return None
    scaled = (actual - forecast) / levels[:, None]
    covered = []
    for k in range(len(actual)):
        offsets = _interval_offsets(np.delete(scaled, k, axis=0).ravel())
        lower, upper = interval(forecast[k], levels[k], offsets)
        covered.append((actual[k] >= lower - 1e-9) & (actual[k] <= upper + 1e-9))
    return float(np.mean(covered))


@dataclass(frozen=True)
class Backtest:
    """One model's rolling-origin back-test: origins x horizon actuals and forecasts."""

    name: str
    actual: np.ndarray
    forecast: np.ndarray
    levels: np.ndarray
    naive_scales: np.ndarray

    @property
    def wape(self) -> float | None:
        """Sum of absolute errors / sum of actuals (defined when anything was redeemed)."""
        total = float(np.abs(self.actual).sum())
        return float(np.abs(self.actual - self.forecast).sum()) / total if total > 0 else None

    @property
    def mae(self) -> float:
        return float(np.abs(self.actual - self.forecast).mean())

    @property
    def mase(self) -> float | None:
        """MAE over the in-sample one-step naive MAE of each origin's training weeks."""
        usable = self.naive_scales > 0
        if not usable.any():
            return None
        errors = np.abs(self.actual - self.forecast)[usable]
        return float((errors / self.naive_scales[usable, None]).mean())

    @property
    def mape_pct(self) -> float | None:
        """Mean absolute percentage error over the weeks with redemptions (zero weeks skipped)."""
        positive = self.actual > 0
        if not positive.any():
            return None
        errors = np.abs(self.actual - self.forecast)[positive] / self.actual[positive]
        return float(errors.mean() * 100.0)

    @property
    def coverage_80(self) -> float | None:
        return _cross_validated_coverage(self.actual, self.forecast, self.levels)

    def ranking_key(self) -> tuple[float, int]:
        error = self.wape if self.wape is not None else self.mae
        return (round(error, 12), SIMPLICITY.index(self.name))


def run_backtest(name: str, values: np.ndarray, origins: list[int], horizon: int) -> Backtest:
    forecasts = [point_forecast(name, values[:origin], horizon) for origin in origins]
    return Backtest(
        name=name,
        actual=np.array([values[origin:origin + horizon] for origin in origins]),
        forecast=np.array(forecasts),
        levels=np.array([_level(values[:origin]) for origin in origins]),
        naive_scales=np.array([float(np.abs(np.diff(values[:origin])).mean())
                               for origin in origins]),
    )


def verdict(chosen: Backtest, naive: Backtest) -> str:
    """The forecast's skill in words: what Finance should make of the numbers."""
    if chosen.name == "naive" or chosen.wape is None or not naive.wape:
        return "no better than naive: read as a range"
    skill = 1.0 - chosen.wape / naive.wape
    if skill < MIN_SKILL:
        return "no better than naive: read as a range"
    return f"beats the naive forecast by {round(skill * 100)} %"


@dataclass(frozen=True)
class ForecastResult:
    """The chosen model's forecast, its interval, totals and every candidate's back-test."""

    backtests: list[Backtest]
    chosen: str
    forecast: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    totals: list[dict]
    verdict: str
    origins: list[int]


def forecast_redemptions(values: np.ndarray, horizon: int) -> ForecastResult:
    """Back-test every candidate, choose the lowest WAPE, forecast with a calibrated interval.

    With too little history for a back-test the naive forecast is used with no interval.
    """
    values = np.asarray(values, dtype=float)
    origins = backtest_origins(len(values), horizon)
    if not origins:
        forecast = point_forecast("naive", values, horizon) if len(values) else np.zeros(horizon)
        empty = np.full(horizon, np.nan)
        totals = [{"horizon_weeks": weeks, "total": float(forecast[:weeks].sum()),
                   "lower": None, "upper": None, "coverage_80": None}
                  for weeks in TOTAL_HORIZONS if weeks <= horizon]
        return ForecastResult([], "naive", forecast, empty, empty, totals,
                              "too little history for a back-test: read as a range", [])
    backtests = [run_backtest(name, values, origins, horizon)
                 for name in candidate_models(origins)]
    best = min(backtests, key=Backtest.ranking_key)
    naive = next(b for b in backtests if b.name == "naive")
    level = _level(values)
    forecast = point_forecast(best.name, values, horizon)
    lower, upper = interval(forecast, level, _interval_offsets(
        ((best.actual - best.forecast) / best.levels[:, None]).ravel()))
    totals = []
    for weeks in (w for w in TOTAL_HORIZONS if w <= horizon):
        actual_sum = best.actual[:, :weeks].sum(axis=1, keepdims=True)
        forecast_sum = best.forecast[:, :weeks].sum(axis=1, keepdims=True)
        point = np.array([forecast[:weeks].sum()])
        total_lower, total_upper = interval(point, level, _interval_offsets(
            (actual_sum - forecast_sum).ravel() / best.levels))
        totals.append({
            "horizon_weeks": weeks,
            "total": float(point[0]),
            "lower": float(total_lower[0]),
            "upper": float(total_upper[0]),
            "coverage_80": _cross_validated_coverage(actual_sum, forecast_sum, best.levels),
        })
    return ForecastResult(
        backtests=backtests,
        chosen=best.name,
        forecast=forecast,
        lower=lower,
        upper=upper,
        totals=totals,
        verdict=verdict(best, naive),
        origins=origins,
    )


COLUMNS = ["record", "week_start", "kind", "redeemed_dollars", "lower_80", "upper_80",
           "model_name", "is_baseline", "is_chosen", "wape", "mae_dollars", "mase",
           "mape_pct", "coverage_80", "backtest_origins", "horizon_weeks",
           "first_origin_week", "last_origin_week", "training_weeks", "verdict"]


def model(dbt, session):
    dbt.config(materialized="table", packages=["statsmodels", "pandas", "numpy"])
    horizon = int(dbt.config.get("forecast_horizon_weeks") or 12)

    adapter_type = dbt.config.get("adapter_type")
    weekly = _to_pandas(dbt.ref("int_redemptions_weekly"), adapter_type)
    weekly = weekly.sort_values("week_start")
    weeks = list(pd.to_datetime(weekly["week_start"]))
    values = weekly["redeemed_dollars"].astype(float).to_numpy()
    result = forecast_redemptions(values, horizon)

    common = {"model_name": result.chosen, "training_weeks": len(values),
              "horizon_weeks": horizon, "backtest_origins": len(result.origins),
              "verdict": result.verdict}
    rows = [{**common, "record": "week", "week_start": week, "kind": "actual",
             "redeemed_dollars": value} for week, value in zip(weeks, values, strict=True)]
    if weeks:
        for step in range(horizon):
            rows.append({**common, "record": "week", "kind": "forecast",
                         "week_start": weeks[-1] + pd.Timedelta(weeks=step + 1),
                         "redeemed_dollars": result.forecast[step],
                         "lower_80": result.lower[step], "upper_80": result.upper[step]})
    for backtest in result.backtests:
        rows.append({
            **common, "record": "model", "model_name": backtest.name,
            "is_baseline": backtest.name in BASELINES,
            "is_chosen": backtest.name == result.chosen,
            "wape": backtest.wape, "mae_dollars": backtest.mae, "mase": backtest.mase,
            "mape_pct": backtest.mape_pct, "coverage_80": backtest.coverage_80,
            "first_origin_week": weeks[result.origins[0]],
            "last_origin_week": weeks[result.origins[-1]],
        })
    for total in result.totals:
        rows.append({
            **common, "record": "total", "horizon_weeks": total["horizon_weeks"],
            "week_start": weeks[-1] + pd.Timedelta(weeks=1) if weeks else None,
            "redeemed_dollars": total["total"], "lower_80": total["lower"],
            "upper_80": total["upper"], "coverage_80": total["coverage_80"],
        })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("redeemed_dollars", "lower_80", "upper_80", "wape", "mae_dollars", "mase",
                   "mape_pct", "coverage_80"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Float64")
    for column in ("week_start", "first_origin_week", "last_origin_week"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("is_baseline", "is_chosen"):
        frame[column] = frame[column].astype("boolean")
    for column in ("backtest_origins", "horizon_weeks", "training_weeks"):
        frame[column] = frame[column].astype("Int64")
    return frame
