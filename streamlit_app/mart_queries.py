"""The dashboards' mart queries: headline KPIs and the Product, Marketing and Finance marts
(one part of the data layer; every query parameterised, declared with ``@reads``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from streamlit_app.snapshots import (
    DataUnavailable,
    between,
    has_table,
    read_table,
    reads,
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


@reads("marts.dim_users", "marts.mart_daily_engagement", "marts.mart_school_fundraising",
       "marts.mart_reward_liability_daily", "marts.mart_expiry_outlook",
       "marts.mart_viral_coefficient", "marts.mart_redemption_forecast_totals")
def headline_kpis(snapshot: Path) -> Kpis:
    """Users, latest DAU, dollars raised, current liability, what expires in the next 90
    days, overall K and the redemptions forecast for the next 4 weeks of a snapshot."""

    def scalar(table: str, sql: str) -> Any:
        try:
            frame = read_table(snapshot, table, sql)
        except DataUnavailable:
            return None
        if frame.empty:
            return None
        value = frame.iloc[0, 0]
        return None if pd.isna(value) else value

    users = scalar("marts.dim_users", "select count(*) from marts.dim_users")
    latest = scalar("marts.mart_daily_engagement",
                    "select max(activity_date) from marts.mart_daily_engagement")
    dau = scalar("marts.mart_daily_engagement",
                 "select dau from marts.mart_daily_engagement "
                 "where activity_date = (select max(activity_date) "
                 "from marts.mart_daily_engagement)")
    raised = scalar("marts.mart_school_fundraising",
                    "select sum(dollars_raised) from marts.mart_school_fundraising")
    liability = scalar("marts.mart_reward_liability_daily",
                       "select liability_dollars from marts.mart_reward_liability_daily "
                       "where balance_date = (select max(balance_date) "
                       "from marts.mart_reward_liability_daily)")
    expiring = scalar("marts.mart_expiry_outlook",
                      "select expiring_90d_dollars from marts.mart_expiry_outlook")
    k_factor = scalar("marts.mart_viral_coefficient",
                      "select sum(qualified_referred_users) / nullif(sum(cohort_users), 0) "
                      "from marts.mart_viral_coefficient where is_cohort_complete")
    forecast = scalar("marts.mart_redemption_forecast_totals",
                      "select forecast_dollars from marts.mart_redemption_forecast_totals "
                      "where horizon_weeks = 4")
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

#: page filter key -> (table, fixed SQL of the earliest and latest date that bounds the filter)
DATE_BOUNDS: dict[str, tuple[str, str]] = {
    "engagement": ("marts.mart_daily_engagement",
                   "select min(activity_date)::date, max(activity_date)::date "
                   "from marts.mart_daily_engagement"),
    "activation": ("marts.mart_activation_funnel",
                   "select min(install_week)::date, max(install_week)::date "
                   "from marts.mart_activation_funnel"),
    "adoption": ("marts.mart_feature_adoption_weekly",
                 "select min(activity_week)::date, max(activity_week)::date "
                 "from marts.mart_feature_adoption_weekly"),
    "retention": ("marts.mart_retention_cohorts",
                  "select min(signup_week)::date, max(signup_week)::date "
                  "from marts.mart_retention_cohorts"),
    "referrals": ("marts.mart_referral_funnel_weekly",
                  "select min(sent_week)::date, max(sent_week)::date "
                  "from marts.mart_referral_funnel_weekly"),
    "viral": ("marts.mart_viral_coefficient",
              "select min(signup_week)::date, max(signup_week)::date "
              "from marts.mart_viral_coefficient"),
    "liability": ("marts.mart_reward_liability_daily",
                  "select min(balance_date)::date, max(balance_date)::date "
                  "from marts.mart_reward_liability_daily"),
    "breakage": ("marts.mart_expiry_breakage",
                 "select min(month_start)::date, max(month_start)::date "
                 "from marts.mart_expiry_breakage"),
}


def date_bounds(snapshot: Path, key: str) -> tuple[date, date] | None:
    """Earliest and latest date of one filterable mart column (None if empty/missing)."""
    table, sql = DATE_BOUNDS[key]
    frame = read_table(snapshot, table, sql)
    low, high = frame.iloc[0, 0], frame.iloc[0, 1]
    if pd.isna(low) or pd.isna(high):
        return None
    return pd.Timestamp(low).date(), pd.Timestamp(high).date()


# --------------------------------------------------------------------------- product


@reads("marts.mart_daily_engagement")
def daily_engagement(snapshot: Path, start: date | None = None,
                     end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_daily_engagement",
                      "select activity_date, dau, wau, mau, stickiness "
                      "from marts.mart_daily_engagement "
                      "where activity_date between ? and ? order by activity_date",
                      between(start, end))


@reads("marts.mart_activation_funnel")
def activation_funnel(snapshot: Path, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_activation_funnel",
                      "select * from marts.mart_activation_funnel "
                      "where install_week between ? and ? order by install_week, stage_order",
                      between(start, end))


@reads("marts.mart_activation_stage_reach")
def activation_stage_reach(snapshot: Path, start: date | None = None,
                           end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_activation_stage_reach",
                      "select * from marts.mart_activation_stage_reach "
                      "where install_week between ? and ? order by install_week, stage_order",
                      between(start, end))


@reads("marts.mart_feature_adoption_weekly")
def feature_adoption(snapshot: Path, start: date | None = None,
                     end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_feature_adoption_weekly",
                      "select * from marts.mart_feature_adoption_weekly "
                      "where activity_week between ? and ? order by activity_week, feature",
                      between(start, end))


@reads("marts.mart_time_to_first_use")
def time_to_first_use(snapshot: Path) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_time_to_first_use",
                      "select * from marts.mart_time_to_first_use order by feature")


@reads("marts.mart_retention_cohorts")
def retention_cohorts(snapshot: Path, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_retention_cohorts",
                      "select * from marts.mart_retention_cohorts "
                      "where signup_week between ? and ? order by signup_week, weeks_since_signup",
                      between(start, end))


# --------------------------------------------------------------------------- marketing


@reads("marts.mart_referral_funnel_weekly")
def referral_funnel(snapshot: Path, start: date | None = None,
                    end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_referral_funnel_weekly",
                      "select * from marts.mart_referral_funnel_weekly "
                      "where sent_week between ? and ? order by sent_week, channel",
                      between(start, end))


@reads("marts.mart_referral_rejections")
def referral_rejections(snapshot: Path, start: date | None = None,
                        end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_referral_rejections",
                      "select * from marts.mart_referral_rejections "
                      "where sent_week between ? and ? order by sent_week, channel",
                      between(start, end))


@reads("marts.mart_viral_coefficient")
def viral_coefficient(snapshot: Path, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_viral_coefficient",
                      "select * from marts.mart_viral_coefficient "
                      "where signup_week between ? and ? order by signup_week",
                      between(start, end))


@reads("marts.mart_top_referrers")
def top_referrers(snapshot: Path, limit: int = TOP_REFERRERS_LIMIT) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_top_referrers",
                      "select * from marts.mart_top_referrers order by referrer_rank limit ?",
                      (limit,))


# --------------------------------------------------------------------------- finance


@reads("marts.mart_reward_liability_daily")
def liability_daily(snapshot: Path, start: date | None = None,
                    end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_reward_liability_daily",
                      "select * from marts.mart_reward_liability_daily "
                      "where balance_date between ? and ? order by balance_date",
                      between(start, end))


@reads("marts.mart_reward_liability_by_school", "marts.mart_school_fundraising")
def liability_by_school(snapshot: Path, limit: int = SCHOOL_LIMIT) -> pd.DataFrame:
    """The ``limit`` schools with the largest liability on the mart's latest balance date,
    with every column of the mart (ageing buckets included when the mart has them), the
    school's name when the snapshot has ``mart_school_fundraising``, and ``schools_total``
    (schools with a balance that day)."""
    if not has_table(snapshot, "marts.mart_school_fundraising"):
        return read_table(snapshot, "marts.mart_reward_liability_by_school",
                          "select *, count(*) over () as schools_total "
                          "from marts.mart_reward_liability_by_school "
                          "where balance_date = (select max(balance_date) "
                          "from marts.mart_reward_liability_by_school) "
                          "order by liability_dollars desc, school_id limit ?", (limit,))
    return read_table(snapshot, "marts.mart_reward_liability_by_school",
                      "with latest as (select *, count(*) over () as schools_total "
                      "from marts.mart_reward_liability_by_school "
                      "where balance_date = (select max(balance_date) "
                      "from marts.mart_reward_liability_by_school) "
                      "order by liability_dollars desc, school_id limit ?) "
                      "select latest.balance_date, latest.school_id, names.school_name, "
                      "latest.* exclude (balance_date, school_id) "
                      "from latest left join marts.mart_school_fundraising as names "
                      "on names.school_id = latest.school_id "
                      "order by latest.liability_dollars desc, latest.school_id", (limit,))


@reads("marts.mart_school_fundraising")
def school_fundraising(snapshot: Path, limit: int = SCHOOL_LIMIT) -> pd.DataFrame:
    """The ``limit`` schools that raised the most (``schools_total`` = all schools)."""
    return read_table(snapshot, "marts.mart_school_fundraising",
                      "select *, count(*) over () as schools_total "
                      "from marts.mart_school_fundraising "
                      "order by dollars_raised desc, school_id limit ?", (limit,))


@reads("marts.mart_state_fundraising")
def state_fundraising(snapshot: Path) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_state_fundraising",
                      "select * from marts.mart_state_fundraising order by state")


@reads("marts.mart_redemption_forecast")
def redemption_forecast(snapshot: Path) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_redemption_forecast",
                      "select * from marts.mart_redemption_forecast order by week_start")


@reads("marts.mart_redemption_forecast_accuracy")
def forecast_accuracy(snapshot: Path) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_redemption_forecast_accuracy",
                      "select * from marts.mart_redemption_forecast_accuracy")


@reads("marts.mart_redemption_forecast_totals")
def forecast_totals(snapshot: Path) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_redemption_forecast_totals",
                      "select * from marts.mart_redemption_forecast_totals order by horizon_weeks")


@reads("marts.mart_redemption_forecast_backtest")
def forecast_backtest(snapshot: Path) -> pd.DataFrame:
    """Every candidate model's back-test errors, best first."""
    return read_table(snapshot, "marts.mart_redemption_forecast_backtest",
                      "select * from marts.mart_redemption_forecast_backtest "
                      "order by wape nulls last, model_name")


@reads("marts.mart_expiry_outlook")
def expiry_outlook(snapshot: Path) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_expiry_outlook",
                      "select * from marts.mart_expiry_outlook")


@reads("marts.mart_expiry_outlook_by_school")
def expiry_outlook_by_school(snapshot: Path, limit: int = SCHOOL_LIMIT) -> pd.DataFrame:
    """The ``limit`` schools with the most dollars expiring in the next 90 days
    (``schools_total`` = schools with any unspent credit)."""
    return read_table(snapshot, "marts.mart_expiry_outlook_by_school",
                      "select *, count(*) over () as schools_total "
                      "from marts.mart_expiry_outlook_by_school "
                      "order by expiring_90d_dollars desc, school_id limit ?", (limit,))


@reads("marts.mart_expiry_breakage")
def expiry_breakage(snapshot: Path, start: date | None = None,
                    end: date | None = None) -> pd.DataFrame:
    return read_table(snapshot, "marts.mart_expiry_breakage",
                      "select * from marts.mart_expiry_breakage "
                      "where month_start between ? and ? order by month_start",
                      between(start, end))
