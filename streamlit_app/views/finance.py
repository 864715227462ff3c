"""Finance: what expires next, reward liability and ageing, fundraising by school and state,
the redemption forecast with its verdict and range, breakage."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from foundation import metric_definitions
from streamlit_app import charts, data_access, health, periods, ui
from streamlit_app.literal import MESSAGE_CHARS, md

#: ageing bucket column -> label, as dbt_project.yml's var liability_ageing_buckets says
#: (metric_definitions.py is generated from it); a mart shows the buckets it has
AGEING = dict(metric_definitions.AGEING_BUCKETS)
#: mart_expiry_outlook's columns of dollars and users expiring within a window of days
EXPIRY_WINDOW = re.compile(r"expiring_(\d+)d_dollars")
USERS_EXPIRING = re.compile(r"users_expiring_(\d+)d")
TOP_SCHOOLS_CHART = 20

st.title("Finance")
run_id, snapshot = ui.require_snapshot()

# ----------------------------------------------------------------- school and state filters
states = ui.load(data_access.state_fundraising, snapshot)
state_options = [] if states is None else sorted(states["state"].dropna().astype(str))
filters = st.columns(2)
ui.url_default("fin_states", "state", state_options, many=True)
ui.url_default("fin_school", "school")
picked_states = filters[0].multiselect("State", state_options, key="fin_states",
                                       help="Filters the school tables, charts and the map.")
school_text = filters[1].text_input("School name contains", key="fin_school")
ui.url_sync("state", picked_states, [])
ui.url_sync("school", school_text.strip(), "")


def by_place(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """The rows of the picked states and of schools whose name contains the search text."""
    if frame is None:
        return None
    if picked_states and "state" in frame.columns:
        frame = frame[frame["state"].astype(str).isin(picked_states)]
    if school_text.strip() and "school_name" in frame.columns:
        frame = frame[frame["school_name"].astype("string").str.contains(
            school_text.strip(), case=False, regex=False, na=False)]
    return frame


if picked_states or school_text.strip():
    st.caption("School and state filters apply to the school and state sections below; "
               "run-wide totals (expiry outlook, liability over time, forecast) do not "
               "change.")

# ----------------------------------------------------------------- expiry outlook
st.subheader("Expiring soon")
outlook = ui.load(data_access.expiry_outlook, snapshot)
if outlook is not None and not outlook.empty:
    row = outlook.iloc[0]
    # the windows the mart has (expiring_<days>d_dollars), not a copy of them
    windows = sorted(int(found.group(1)) for column in outlook.columns
                     if (found := EXPIRY_WINDOW.fullmatch(str(column))))
    cols = st.columns(len(windows) + 1)
    for col, days in zip(cols, windows, strict=False):
        col.metric(f"Expires in the next {days} days",
                   f"${float(row[f'expiring_{days}d_dollars']):,.2f}")
    for column in outlook.columns:
        if found := USERS_EXPIRING.fullmatch(str(column)):
            cols[-1].metric(f"Users with credit expiring in {found.group(1)} days",
                            f"{int(row[column]):,}")
    st.caption(f"From {row['as_of_date']:%Y-%m-%d}, if nobody redeems meanwhile; of "
               f"${float(row['unspent_dollars']):,.2f} unspent in total.")
    ui.caption("expiry_outlook")
    ui.table(outlook, "mart_expiry_outlook", run_id)
expiring_schools = by_place(ui.load(data_access.expiry_outlook_by_school, snapshot))
if expiring_schools is not None and expiring_schools.empty:
    ui.empty_filter("schools with expiring credit")
elif expiring_schools is not None:
    total = int(expiring_schools["schools_total"].iloc[0])
    st.caption(f"Table: the top {len(expiring_schools):,} of {total:,} schools with unspent "
               "credit, by dollars expiring in the next 90 days.")
    ui.table(expiring_schools.drop(columns="schools_total"), "mart_expiry_outlook_by_school",
             run_id)

# ----------------------------------------------------------------- liability
st.subheader("Reward liability")
start, end = ui.date_range(snapshot, "liability", "Balance dates")
liability = ui.load(data_access.liability_daily, snapshot, start, end)
if liability is not None:
    last = liability.iloc[-1]
    before = (data_access.liability_daily(snapshot, *periods.previous_period(start, end))
              if start is not None and end is not None else None)
    earlier = None if before is None or before.empty else before.iloc[-1]
    cols = st.columns(3)
    for col, label, column, good in (
            (cols[0], f"Liability on {last['balance_date']:%Y-%m-%d}", "liability_dollars",
             False),
            (cols[1], "Earned to date", "cumulative_earned_dollars", True),
            (cols[2], "Expired to date", "cumulative_expired_dollars", False)):
        change = health.kpi_delta(float(last[column]),
                                  None if earlier is None else float(earlier[column]),
                                  digits=2, prefix="$", up_is_good=good)
        col.metric(label, f"${float(last[column]):,.2f}", change.text,
                   delta_color=change.color, delta_arrow=change.arrow)
    if earlier is not None:
        st.caption(f"Change against {earlier['balance_date']:%Y-%m-%d}, the end of the "
                   "period of equal length before; a rising liability or expiry is shown "
                   "red.")
    ageing = [column for column in AGEING if column in liability.columns]
    figure = charts.line_figure(liability.rename(columns=AGEING), "balance_date",
                            [AGEING[column] for column in ageing], stacked=True, kind="money",
                            y_title="Reward liability",
                            title="Reward liability by age of unspent credits (dollars)")
    figure.add_scatter(x=liability["balance_date"],
                       y=liability["liability_dollars"].astype(float),
                       name="Total liability", line={"color": charts.TOTAL_COLOR, "width": 3,
                                                     "dash": "dash"},
                       hovertemplate=f"Total liability: {charts.hover('money')}<extra></extra>")
    ui.chart(figure, "liability", key="liability_chart")
    ui.caption("ageing")
    ui.table(liability, "mart_reward_liability_daily", run_id)

# ----------------------------------------------------------------- schools and states
st.subheader("By school and by state")
schools = by_place(ui.load(data_access.school_fundraising, snapshot))
by_school = by_place(ui.load(data_access.liability_by_school, snapshot))
states = by_place(states)
if states is not None and states.empty:
    ui.empty_filter("states")
elif states is not None:
    metric = st.radio("Map", ["dollars_raised", "liability_dollars"], horizontal=True,
                      format_func=charts.title_of, key="fin_map")
    figure = go.Figure(go.Choropleth(
        locations=states["state"], z=states[metric].astype(float), locationmode="USA-states",
        colorscale="Greens",
        colorbar={"title": {"text": charts.title_of(metric)}, "tickprefix": "$",
                  "tickformat": ",.0f"},
        customdata=states[["schools", "supporters"]].to_numpy(),
        hovertemplate=f"%{{location}}: {charts.hover('money', 'z')}<br>"
                      "schools %{customdata[0]:,}, supporters %{customdata[1]:,}"
                      "<extra></extra>"))
    figure.update_layout(geo_scope="usa",
                         title=f"{charts.title_of(metric)} by state")
    ui.chart(figure, "fundraising", key="state_map", config=ui.GEO_CONFIG)
    ui.table(states, "mart_state_fundraising", run_id)
if schools is not None and schools.empty:
    ui.empty_filter("schools")
elif schools is not None:
    figure = charts.bar_figure(schools.head(20), "dollars_raised", "school_name", horizontal=True,
                           title="Top 20 schools by dollars raised")
    ui.chart(figure, "fundraising", key="school_bar")
    total = int(schools["schools_total"].iloc[0])
    st.caption(f"Table: the top {len(schools):,} of {total:,} schools by dollars raised.")
    ui.table(schools.drop(columns="schools_total"), "mart_school_fundraising", run_id)
if by_school is not None and not by_school.empty:
    top = by_school.head(TOP_SCHOOLS_CHART).copy()
    label = "#" + top["school_id"].astype(str)
    if "school_name" in top.columns:
        label = top["school_name"].fillna("(unnamed)").astype(str) + " " + label
    top["school"] = label
    title = (f"Top {TOP_SCHOOLS_CHART} schools by reward liability on "
             f"{by_school['balance_date'].iloc[0]:%Y-%m-%d}")
    school_ageing = [column for column in AGEING if column in top.columns]
    if school_ageing:
        figure = charts.bar_figure(top.rename(columns=AGEING),
                               [AGEING[column] for column in school_ageing], "school",
                               horizontal=True, barmode="relative",
                               title=f"{title}, by age of unspent credits (dollars)")
    else:
        figure = charts.bar_figure(top, "liability_dollars", "school", horizontal=True,
                               title=f"{title} (dollars)")
    ui.chart(figure, "liability_school", key="school_liability_bar")
    total = int(by_school["schools_total"].iloc[0])
    st.caption(f"Table: the top {len(by_school):,} of {total:,} schools by liability.")
    ui.table(by_school.drop(columns="schools_total"), "mart_reward_liability_by_school",
             run_id)

# ----------------------------------------------------------------- forecast
st.subheader("Redemption forecast")
accuracy = ui.load(data_access.forecast_accuracy, snapshot)
totals = ui.load(data_access.forecast_totals, snapshot)
if accuracy is not None and not accuracy.empty:
    verdict = accuracy.iloc[0]
    coverage = ui.number(verdict["coverage_80"])
    coverage_text = ("not measured" if coverage is None
                     else f"covered {coverage:.0%} of back-test weeks")
    message = (f"**Can I trust it?** The forecast ({md(verdict['model_name'])}) "
               f"{md(verdict['verdict'], MESSAGE_CHARS)} in a back-test over "
               f"{int(verdict['backtest_origins'])} "
               f"forecast origins; its 80 % range {coverage_text}.")
    (st.success if bool(verdict["beats_naive"]) else st.warning)(message)
if totals is not None and not totals.empty:
    cols = st.columns(len(totals))
    for col, (_, total) in zip(cols, totals.iterrows(), strict=True):
        weeks = int(total["horizon_weeks"])
        low, high = ui.number(total["lower_80"]), ui.number(total["upper_80"])
        col.metric(f"Redemptions, next {weeks} weeks",
                   f"${float(total['forecast_dollars']):,.2f}",
                   help=f"Weeks {total['first_week']:%Y-%m-%d} to {total['last_week']:%Y-%m-%d}")
        if low is not None and high is not None:
            col.caption(f"80 % range ${low:,.2f} – ${high:,.2f}")
    ui.caption("forecast_totals")
    ui.table(totals, "mart_redemption_forecast_totals", run_id)
forecast = ui.load(data_access.redemption_forecast, snapshot)
if forecast is not None:
    frame = forecast.copy()
    for column in ("redeemed_dollars", "lower_80", "upper_80"):
        frame[column] = frame[column].astype(float)
    actual = frame[frame["kind"] == "actual"]
    ahead = frame[frame["kind"] == "forecast"]
    figure = go.Figure()
    figure.add_scatter(x=ahead["week_start"], y=ahead["upper_80"], line={"width": 0},
                       showlegend=False, name="upper 80 %")
    figure.add_scatter(x=ahead["week_start"], y=ahead["lower_80"], line={"width": 0},
                       fill="tonexty", fillcolor="rgba(76,120,168,0.25)",
                       name="80 % interval")
    figure.add_scatter(x=actual["week_start"], y=actual["redeemed_dollars"], name="actual",
                       line={"color": charts.TOTAL_COLOR, "width": 3})
    figure.add_scatter(x=ahead["week_start"], y=ahead["redeemed_dollars"], name="forecast",
                       line={"color": charts.PALETTE[0], "dash": "dash"})
    figure.update_layout(title="Weekly redeemed dollars: actual and 12-week forecast",
                         hovermode="x unified")
    figure.update_traces(hovertemplate=f"%{{fullData.name}}: {charts.hover('money')}"
                                       "<extra></extra>")
    charts.style_axis(figure, "x", "Week")
    charts.style_axis(figure, "y", "Redeemed per week", "money")
    ui.chart(figure, "forecast", key="forecast_chart")
    ui.table(forecast, "mart_redemption_forecast", run_id)
backtest = ui.load(data_access.forecast_backtest, snapshot)
if backtest is not None and not backtest.empty:
    st.markdown("**Back-test: chosen model and baselines**")
    ui.table(backtest, "mart_redemption_forecast_backtest", run_id,
             definition="forecast_backtest")

# ----------------------------------------------------------------- breakage
st.subheader("Expiry breakage")
b_start, b_end = ui.date_range(snapshot, "breakage", "Months")
breakage = ui.load(data_access.expiry_breakage, snapshot, b_start, b_end)
if breakage is not None:
    figure = charts.bar_figure(breakage, "month_start", ["earned_dollars", "expired_dollars"],
                           barmode="group",
                           title="Earned vs expired rewards per month (dollars)")
    ui.chart(figure, "breakage", key="breakage_chart")
    ui.table(breakage, "mart_expiry_breakage", run_id)
