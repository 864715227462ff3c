"""The fixed SQL of the headline figures and of the stakeholder charts, declared once.

The dashboards' data layer (``streamlit_app/mart_queries.py``) and the pipeline's run
report (``pipeline/evidence/report.py``) both read these texts, so a figure on a page and
the same figure in a report are computed by the same query. Kept in ``foundation`` because
the pipeline may not import the dashboards (tests/test_architecture.py).
"""

from __future__ import annotations

#: headline figure -> the fixed SQL of its one value
KPI_SQL: dict[str, str] = {
    "users": "select count(*) from marts.dim_users",
    "dau_date": "select max(activity_date) from marts.mart_daily_engagement",
    "dau": ("select dau from marts.mart_daily_engagement "
            "where activity_date = (select max(activity_date) from marts.mart_daily_engagement)"),
    "dollars_raised": "select sum(dollars_raised) from marts.mart_school_fundraising",
    "reward_liability": ("select liability_dollars from marts.mart_reward_liability_daily "
                         "where balance_date = (select max(balance_date) "
                         "from marts.mart_reward_liability_daily)"),
    "expiring_90d": "select expiring_90d_dollars from marts.mart_expiry_outlook",
    "k_factor": ("select sum(qualified_referred_users) / nullif(sum(cohort_users), 0) "
                 "from marts.mart_viral_coefficient where is_cohort_complete"),
    "forecast_4w": ("select forecast_dollars from marts.mart_redemption_forecast_totals "
                    "where horizon_weeks = 4"),
}

#: Product: DAU, WAU, MAU and stickiness per day, between two dates (parameters)
DAILY_ENGAGEMENT_SQL = ("select activity_date, dau, wau, mau, stickiness "
                        "from marts.mart_daily_engagement "
                        "where activity_date between ? and ? order by activity_date")
#: Marketing: the viral coefficient per sign-up-week cohort, between two dates
VIRAL_COEFFICIENT_SQL = ("select * from marts.mart_viral_coefficient "
                         "where signup_week between ? and ? order by signup_week")
#: Finance: the reward liability per balance date, between two dates
LIABILITY_DAILY_SQL = ("select * from marts.mart_reward_liability_daily "
                       "where balance_date between ? and ? order by balance_date")

#: the headline figures each stakeholder's panel of the run report shows, in order:
#: (figure in KPI_SQL, label, caption key in metric_definitions.CAPTIONS, format)
STAKEHOLDER_KPIS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "Product": (("users", "Users", "users", "{:,.0f}"), ("dau", "DAU", "dau", "{:,.0f}")),
    "Marketing": (("k_factor", "K-factor", "k_factor", "{:.3f}"),),
    "Finance": (("dollars_raised", "Dollars raised", "dollars_raised", "${:,.2f}"),
                ("reward_liability", "Reward liability", "liability", "${:,.2f}"),
                ("expiring_90d", "Expiring in 90 days", "expiry_outlook", "${:,.2f}"),
                ("forecast_4w", "Redemptions forecast, next 4 weeks", "forecast_totals",
                 "${:,.2f}")),
}
#: each stakeholder panel's chart: (SQL between two dates, x column, y columns, caption key)
STAKEHOLDER_CHARTS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "Product": (DAILY_ENGAGEMENT_SQL, "activity_date", ("dau", "wau", "mau"), "dau"),
    "Marketing": (VIRAL_COEFFICIENT_SQL, "signup_week", ("k_factor",), "viral"),
    "Finance": (LIABILITY_DAILY_SQL, "balance_date", ("liability_dollars",), "liability"),
}
