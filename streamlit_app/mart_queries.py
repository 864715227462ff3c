"""The dashboards' mart queries: headline KPIs and the Product, Marketing and Finance marts
(one part of the data layer). A query is one function declared by its fixed, parameterised
SQL (``@sql_query``): the tables it reads, the dbt exposures of the pages that call it and
its export through ``data_access`` all follow from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from foundation.mart_sql import (
    DAILY_ENGAGEMENT_SQL,
    KPI_SQL,
    LIABILITY_DAILY_SQL,
    VIRAL_COEFFICIENT_SQL,
)
from streamlit_app.snapshots import (
    DataUnavailable,
    Params,
    between,
    exports,
    missing_tables,
    read_table,
    reads,
    sql_query,
    tables_in,
)

TOP_REFERRERS_LIMIT = 50
#: schools listed on the Finance page (the marts hold every school)
SCHOOL_LIMIT = 1000


@dataclass(frozen=True)
class Kpis:
    """Headline figures of one snapshot (None where the mart is missing or empty)."""

    users: int | None
    dau: int | None
    dau_date: date | None
    dollars_raised: float | None
    reward_liability: float | None
    expiring_90d: float | None
    k_factor: float | None
    forecast_4w: float | None = None


#: headline figure -> the relations its value is computed from (what a caution checks)
KPI_RELATIONS: dict[str, frozenset[str]] = {name: tables_in(sql) for name, sql in KPI_SQL.items()}


@reads(*KPI_SQL.values())
def headline_kpis(snapshot: Path) -> Kpis:
    """Users, latest DAU, dollars raised, current liability, what expires in the next 90
    days, overall K and the redemptions forecast for the next 4 weeks of a snapshot."""

    def scalar(name: str) -> Any:
        try:
            frame = read_table(snapshot, KPI_SQL[name])
        except DataUnavailable:
            return None
        if frame.empty:
            return None
        value = frame.iloc[0, 0]
        return None if pd.isna(value) else value

    values = {name: scalar(name) for name in KPI_SQL}
    users, dau, latest = values["users"], values["dau"], values["dau_date"]
    raised, liability = values["dollars_raised"], values["reward_liability"]
    expiring, k_factor, forecast = values["expiring_90d"], values["k_factor"], values["forecast_4w"]
    return Kpis(
        users=None if users is None else int(users),
        dau=None if dau is None else int(dau),
        dau_date=None if latest is None else pd.Timestamp(latest).date(),
        dollars_raised=None if raised is None else float(raised),
        reward_liability=None if liability is None else float(liability),
        expiring_90d=None if expiring is None else float(expiring),
        k_factor=None if k_factor is None else float(k_factor),
        forecast_4w=None if forecast is None else float(forecast),
    )


# --------------------------------------------------------------------------- date bounds

#: page filter key -> the fixed SQL of the earliest and latest date that bounds the filter
DATE_BOUNDS: dict[str, str] = {
    "engagement": ("select min(activity_date)::date, max(activity_date)::date "
                   "from marts.mart_daily_engagement"),
    "activation": ("select min(install_week)::date, max(install_week)::date "
                   "from marts.mart_activation_funnel"),
    "adoption": ("select min(activity_week)::date, max(activity_week)::date "
                 "from marts.mart_feature_adoption_weekly"),
    "retention": ("select min(signup_week)::date, max(signup_week)::date "
                  "from marts.mart_retention_cohorts"),
    "referrals": ("select min(sent_week)::date, max(sent_week)::date "
                  "from marts.mart_referral_funnel_weekly"),
    "viral": ("select min(signup_week)::date, max(signup_week)::date "
              "from marts.mart_viral_coefficient"),
    "liability": ("select min(balance_date)::date, max(balance_date)::date "
                  "from marts.mart_reward_liability_daily"),
    "breakage": ("select min(month_start)::date, max(month_start)::date "
                 "from marts.mart_expiry_breakage"),
}


def date_bounds(snapshot: Path, key: str) -> tuple[date, date] | None:
    """Earliest and latest date of one filterable mart column (None if empty/missing)."""
    frame = read_table(snapshot, DATE_BOUNDS[key])
    low, high = frame.iloc[0, 0], frame.iloc[0, 1]
    if pd.isna(low) or pd.isna(high):
        return None
    return pd.Timestamp(low).date(), pd.Timestamp(high).date()


# --------------------------------------------------------------------------- product


@sql_query(DAILY_ENGAGEMENT_SQL)
def daily_engagement(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query("select * from marts.mart_activation_funnel "
           "where install_week between ? and ? order by install_week, stage_order")
def activation_funnel(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query("select * from marts.mart_activation_stage_reach "
           "where install_week between ? and ? order by install_week, stage_order")
def activation_stage_reach(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query("select * from marts.mart_feature_adoption_weekly "
           "where activity_week between ? and ? order by activity_week, feature")
def feature_adoption(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query("select * from marts.mart_time_to_first_use order by feature")
def time_to_first_use() -> Params:
    return ()


@sql_query("select * from marts.mart_retention_cohorts "
           "where signup_week between ? and ? order by signup_week, weeks_since_signup")
def retention_cohorts(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


# --------------------------------------------------------------------------- marketing


@sql_query("select * from marts.mart_referral_funnel_weekly "
           "where sent_week between ? and ? order by sent_week, channel")
def referral_funnel(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query("select * from marts.mart_referral_rejections "
           "where sent_week between ? and ? order by sent_week, channel")
def referral_rejections(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query(VIRAL_COEFFICIENT_SQL)
def viral_coefficient(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query("select * from marts.mart_top_referrers order by referrer_rank limit ?")
def top_referrers(limit: int = TOP_REFERRERS_LIMIT) -> Params:
    return (limit,)


# --------------------------------------------------------------------------- finance


@sql_query(LIABILITY_DAILY_SQL)
def liability_daily(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


#: the schools with the largest liability on the mart's latest balance date
LIABILITY_BY_SCHOOL_SQL = (
    "select *, count(*) over () as schools_total "
    "from marts.mart_reward_liability_by_school "
    "where balance_date = (select max(balance_date) "
    "from marts.mart_reward_liability_by_school) "
    "order by liability_dollars desc, school_id limit ?")
#: the same, with each school's name
NAMED_LIABILITY_BY_SCHOOL_SQL = (
    "with latest as (select *, count(*) over () as schools_total "
    "from marts.mart_reward_liability_by_school "
    "where balance_date = (select max(balance_date) "
    "from marts.mart_reward_liability_by_school) "
    "order by liability_dollars desc, school_id limit ?) "
    "select latest.balance_date, latest.school_id, names.school_name, "
    "latest.* exclude (balance_date, school_id) "
    "from latest left join marts.mart_school_fundraising as names "
    "on names.school_id = latest.school_id "
    "order by latest.liability_dollars desc, latest.school_id")


@reads(LIABILITY_BY_SCHOOL_SQL, NAMED_LIABILITY_BY_SCHOOL_SQL)
def liability_by_school(snapshot: Path, limit: int = SCHOOL_LIMIT) -> pd.DataFrame:
    """The ``limit`` schools with the largest liability on the mart's latest balance date,
    with every column of the mart (ageing buckets included when the mart has them), the
    school's name when the snapshot has ``mart_school_fundraising``, and ``schools_total``
    (schools with a balance that day)."""
    if missing_tables(snapshot, NAMED_LIABILITY_BY_SCHOOL_SQL):
        return read_table(snapshot, LIABILITY_BY_SCHOOL_SQL, (limit,))
    return read_table(snapshot, NAMED_LIABILITY_BY_SCHOOL_SQL, (limit,))


@sql_query("select *, count(*) over () as schools_total from marts.mart_school_fundraising "
           "order by dollars_raised desc, school_id limit ?")
def school_fundraising(limit: int = SCHOOL_LIMIT) -> Params:
    """The ``limit`` schools that raised the most (``schools_total`` = all schools)."""
    return (limit,)


@sql_query("select * from marts.mart_state_fundraising order by state")
def state_fundraising() -> Params:
    return ()


@sql_query("select * from marts.mart_redemption_forecast order by week_start")
def redemption_forecast() -> Params:
    return ()


@sql_query("select * from marts.mart_redemption_forecast_accuracy")
def forecast_accuracy() -> Params:
    return ()


@sql_query("select * from marts.mart_redemption_forecast_totals order by horizon_weeks")
def forecast_totals() -> Params:
    return ()


@sql_query("select count(*) as observed_days, "
           "coalesce(sum(redeemed_dollars), 0) as redeemed_dollars "
           "from marts.mart_reward_liability_daily where balance_date between ? and ?")
def redeemed_between(start: date, end: date) -> Params:
    """Days with data and dollars redeemed from ``start`` to ``end`` (both included): what
    is already known of a forecast week that holds the as-of date."""
    return (start, end)


@sql_query("select * from marts.mart_redemption_forecast_backtest "
           "order by wape nulls last, model_name")
def forecast_backtest() -> Params:
    """Every candidate model's back-test errors, best first."""
    return ()


@sql_query("select * from marts.mart_expiry_outlook")
def expiry_outlook() -> Params:
    return ()


@sql_query("select *, count(*) over () as schools_total from marts.mart_expiry_outlook_by_school "
           "order by expiring_90d_dollars desc, school_id limit ?")
def expiry_outlook_by_school(limit: int = SCHOOL_LIMIT) -> Params:
    """The ``limit`` schools with the most dollars expiring in the next 90 days
    (``schools_total`` = schools with any unspent credit)."""
    return (limit,)


@sql_query("select * from marts.mart_expiry_breakage "
           "where month_start between ? and ? order by month_start")
def expiry_breakage(start: date | None = None, end: date | None = None) -> Params:
    return between(start, end)


@sql_query("select metric, dimension, dimension_value, metric_date, actual, expected, lower, "
           "upper, score, reason from marts.mart_metric_anomalies where is_flagged "
           "order by metric, dimension, dimension_value, metric_date")
def flagged_anomalies() -> Params:
    return ()


@sql_query("select distinct metric, dimension, dimension_value from marts.mart_metric_history "
           "order by metric, dimension, dimension_value")
def monitored_series() -> Params:
    return ()


@sql_query("select metric_date, period, actual, expected, lower, upper, score, volume, "
           "is_flagged from marts.mart_metric_history where metric = ? and dimension = ? "
           "and dimension_value = ? order by metric_date")
def metric_series(metric: str, dimension: str, dimension_value: str) -> Params:
    return (metric, dimension, dimension_value)


__all__ = exports(globals())
