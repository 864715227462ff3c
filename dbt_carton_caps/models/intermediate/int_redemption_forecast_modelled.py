"""Weekly redemption forecast: ETS (statsmodels) with an 80 % prediction interval.

grain: one row per week_start and kind ('actual' for observed complete weeks,
'forecast' for the next `horizon` weeks), plus the back-test MAPE of the same model
refitted without the last `holdout` weeks (repeated on every row).
"""

import warnings

import numpy as np
import pandas as pd


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


def _naive_forecast(values: np.ndarray, steps: int) -> pd.DataFrame:
    """Fallback when ETS cannot be fitted (too short or constant): mean with a normal PI."""
    mean = float(np.mean(values)) if len(values) else 0.0
    spread = 1.2815515655446004 * (float(np.std(values, ddof=1)) if len(values) > 1 else 0.0)
    return pd.DataFrame({"mean": [mean] * steps, "lower": [mean - spread] * steps,
                         "upper": [mean + spread] * steps})


def _fit_forecast(values: np.ndarray, steps: int) -> tuple[pd.DataFrame, str]:
    """ETS forecast with an 80 % prediction interval, and the model's name."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if len(values) < 4 or np.ptp(values) == 0:
        return _naive_forecast(values, steps), "mean (naive)"
    series = pd.Series(values.astype(float))
    trend = "add" if len(series) >= 10 else None
    try:
        model = ETSModel(series, error="add", trend=trend, damped_trend=trend is not None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = model.fit(disp=False)
            prediction = fitted.get_prediction(start=len(series), end=len(series) + steps - 1)
            frame = prediction.summary_frame(alpha=0.2)
    except (ValueError, np.linalg.LinAlgError):
        return _naive_forecast(values, steps), "mean (naive)"
    name = "ETS(A,Ad,N)" if trend else "ETS(A,N,N)"
    return pd.DataFrame(
        {
            "mean": frame["mean"].to_numpy(),
            "lower": frame["pi_lower"].to_numpy(),
            "upper": frame["pi_upper"].to_numpy(),
        }
    ), name


def model(dbt, session):
    dbt.config(materialized="table", packages=["statsmodels", "pandas", "numpy"])
    horizon = int(dbt.config.get("forecast_horizon_weeks") or 12)
    holdout = int(dbt.config.get("forecast_holdout_weeks") or 12)

    adapter_type = dbt.config.get("adapter_type")
    weekly = _to_pandas(dbt.ref("int_redemptions_weekly"), adapter_type)
    weekly = weekly.sort_values("week_start")
    weekly["week_start"] = pd.to_datetime(weekly["week_start"])
    values = weekly["redeemed_dollars"].astype(float).to_numpy()

    mape = None
    holdout_used = 0
    if len(values) >= holdout + 8:
        backtest, _ = _fit_forecast(values[:-holdout], holdout)
        actual = values[-holdout:]
        mask = actual > 0
        if mask.any():
            errors = np.abs(actual[mask] - backtest["mean"].to_numpy()[mask]) / actual[mask]
            mape = float(np.mean(errors) * 100.0)
            holdout_used = holdout

    rows = [
        {
            "week_start": week.date(),
            "kind": "actual",
            "redeemed_dollars": float(value),
            "lower_80": None,
            "upper_80": None,
        }
        for week, value in zip(weekly["week_start"], values, strict=True)
    ]
    model_name = "none"
    if len(values) >= 1:
        forecast, model_name = _fit_forecast(values, horizon)
        last_week = weekly["week_start"].iloc[-1]
        for step in range(horizon):
            rows.append(
                {
                    "week_start": (last_week + pd.Timedelta(weeks=step + 1)).date(),
                    "kind": "forecast",
                    "redeemed_dollars": max(float(forecast["mean"].iloc[step]), 0.0),
                    "lower_80": max(float(forecast["lower"].iloc[step]), 0.0),
                    "upper_80": max(float(forecast["upper"].iloc[step]), 0.0),
                }
            )
    result = pd.DataFrame(
        rows, columns=["week_start", "kind", "redeemed_dollars", "lower_80", "upper_80"]
    )
    result["week_start"] = pd.to_datetime(result["week_start"])
    result["lower_80"] = result["lower_80"].astype(float)
    result["upper_80"] = result["upper_80"].astype(float)
    result["backtest_mape_pct"] = mape
    result["backtest_holdout_weeks"] = holdout_used
    result["training_weeks"] = len(values)
    result["model_name"] = model_name
    return result
