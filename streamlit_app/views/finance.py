"""Finance: what expires next, reward liability and ageing, fundraising by school and state,
the redemption forecast with its verdict and range, breakage."""

from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from foundation import metric_definitions
from streamlit_app import (
    chart_panels,
    charts,
    data_access,
    health,
    periods,
    trust,
    ui,
)
from streamlit_app.literal import MESSAGE_CHARS, md

#: ageing bucket column -> label, as dbt_project.yml's var liability_ageing_buckets says
#: (metric_definitions.py is generated from it); a mart shows the buckets it has
AGEING = dict(metric_definitions.AGEING_BUCKETS)
#: mart_expiry_outlook's columns of dollars and users expiring within a window of days
EXPIRY_WINDOW = re.compile(r"expiring_(\d+)d_dollars")
USERS_EXPIRING = re.compile(r"users_expiring_(\d+)d")
TOP_SCHOOLS_CHART = 20
#: the map's colours: mid-tone greens readable on a light and a dark page (Plotly's
#: "Greens" starts at near-white, which reads as an empty box in the dark theme)
MAP_COLORS = [[0.0, "#C7E9C0"], [0.5, "#74C476"], [1.0, "#238B45"]]
#: what shows through the map where no state is drawn: nothing (the page's own background)
CLEAR = "rgba(0,0,0,0)"
MONEY = "dollars"


def dollars(value: object) -> str:
    return charts.format_value(value, MONEY)


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
                   dollars(row[f"expiring_{days}d_dollars"]))
    for column in outlook.columns:
        if found := USERS_EXPIRING.fullmatch(str(column)):
            cols[-1].metric(f"Users with credit expiring in {found.group(1)} days",
                            charts.format_value(row[column], "count"))
    st.caption(f"From {row['as_of_date']:%Y-%m-%d}, if nobody redeems meanwhile; of "
               f"{dollars(row['unspent_dollars'])} unspent in total.")
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
    # a change computed on data a finding affects is neither good nor bad news (trust.py)
    neutral = trust.affected(data_access.READS["liability_daily"])
    cols = st.columns(3)
    for col, label, column, good in (
            (cols[0], f"Liability on {last['balance_date']:%Y-%m-%d}", "liability_dollars",
             False),
            (cols[1], "Earned to date", "cumulative_earned_dollars", True),
            (cols[2], "Expired to date", "cumulative_expired_dollars", False)):
        change = health.kpi_delta(float(last[column]),
                                  None if earlier is None else float(earlier[column]),
                                  digits=2, prefix="$", up_is_good=None if neutral else good)
        col.metric(label, dollars(last[column]), change.text,
                   delta_color=change.color, delta_arrow=change.arrow)
    if earlier is not None:
        st.caption(f"Change against {earlier['balance_date']:%Y-%m-%d}, the end of the "
                   "period of equal length before; a rising liability or expiry is shown "
                   "red.")
    ageing = [column for column in AGEING if column in liability.columns]
    figure = charts.line_figure(liability.rename(columns=AGEING), "balance_date",
                            [AGEING[column] for column in ageing], stacked=True, kind=MONEY,
                            y_title="Reward liability",
                            title="Reward liability by age of unspent credits (dollars)")
    figure.add_scatter(x=liability["balance_date"],
                       y=liability["liability_dollars"].astype(float),
                       name="Total liability", line={"color": charts.TOTAL_COLOR, "width": 3,
                                                     "dash": "dash"},
                       hovertemplate=f"Total liability: {charts.hover(MONEY)}<extra></extra>")
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
        colorscale=MAP_COLORS, marker_line_color="rgba(128,128,128,0.7)",
        colorbar={"title": {"text": charts.title_of(metric), "side": "top"},
                  "orientation": "h", "x": 0.5, "xanchor": "center", "y": 0,
                  "yanchor": "top", "thickness": 12, "len": 0.9, "tickprefix": "$",
                  "tickformat": charts.KINDS[MONEY].tick},
        customdata=states[["schools", "supporters"]].to_numpy(),
        hovertemplate=f"%{{location}}: {charts.hover(MONEY, 'z')}<br>"
                      "schools %{customdata[0]:,}, supporters %{customdata[1]:,}"
                      "<extra></extra>"))
    # the legend under the map, not beside it: on a phone the map keeps the full width
    figure.update_geos(scope="usa", bgcolor=CLEAR, showlakes=False, showland=True,
                       landcolor="rgba(128,128,128,0.12)",
                       subunitcolor="rgba(128,128,128,0.7)")
    figure.update_layout(title=f"{charts.title_of(metric)} by state", height=500,
                         paper_bgcolor=CLEAR, plot_bgcolor=CLEAR)
    ui.chart(figure, "fundraising", key="state_map", config=ui.GEO_CONFIG)
    ui.table(states, "mart_state_fundraising", run_id)
if schools is not None and schools.empty:
    ui.empty_filter("schools")
elif schools is not None:
    figure = charts.bar_figure(schools.head(20), "dollars_raised", "school_name",
                               horizontal=True, kind=MONEY,
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
                               horizontal=True, barmode="relative", kind=MONEY,
                               title=f"{title}, by age of unspent credits (dollars)")
    else:
        figure = charts.bar_figure(top, "liability_dollars", "school", horizontal=True,
                               kind=MONEY, title=f"{title} (dollars)")
    ui.chart(figure, "liability_school", key="school_liability_bar")
    total = int(by_school["schools_total"].iloc[0])
    st.caption(f"Table: the top {len(by_school):,} of {total:,} schools by liability.")
    ui.table(by_school.drop(columns="schools_total"), "mart_reward_liability_by_school",
             run_id)

# ----------------------------------------------------------------- forecast
st.subheader("Redemption forecast")
accuracy = ui.load(data_access.forecast_accuracy, snapshot)
totals = ui.load(data_access.forecast_totals, snapshot)
as_of = None
if accuracy is not None and not accuracy.empty:
    verdict = accuracy.iloc[0]
    coverage = ui.number(verdict["coverage_80"])
    coverage_text = ("not measured" if coverage is None
                     else f"covered {charts.format_value(coverage, 'share')} of back-test "
                          "weeks")
    message = (f"**Can I trust it?** The forecast ({md(verdict['model_name'])}) "
               f"{md(verdict['verdict'], MESSAGE_CHARS)} in a back-test over "
               f"{int(verdict['backtest_origins'])} "
               f"forecast origins; its 80 % range {coverage_text}.")
    (st.success if bool(verdict["beats_naive"]) else st.warning)(message)
    if "as_of_date" in accuracy.columns and not pd.isna(verdict["as_of_date"]):
        as_of = pd.Timestamp(verdict["as_of_date"]).date()
partial_note = ""
if totals is not None and not totals.empty:
    first_week = pd.Timestamp(totals["first_week"].min()).date()
    observed = 0 if as_of is None else periods.observed_days(first_week, as_of)
    if 0 < observed < 7:
        so_far = data_access.redeemed_between(snapshot, first_week,
                                              as_of - timedelta(days=1))
        redeemed = 0.0 if so_far.empty else float(so_far["redeemed_dollars"].iloc[0])
        partial_note = (f"the first, {first_week:%b %d} – "
                        f"{first_week + timedelta(days=6):%b %d}, is partial: {observed} of "
                        "its 7 days are already in the data")
        st.info(f"**The first forecast week is partial.** The week of {first_week:%Y-%m-%d} "
                f"holds the as-of date ({as_of:%Y-%m-%d}): {observed} of its 7 days are "
                f"already in the data, with {dollars(redeemed)} redeemed so far, yet the "
                "forecast counts it as a whole week (the model learns from complete weeks "
                "only). \"Next 4 weeks\" and \"next 12 weeks\" start with it.",
                icon=":material/info:")
    cols = st.columns(len(totals))
    for col, (_, total) in zip(cols, totals.iterrows(), strict=True):
        weeks = int(total["horizon_weeks"])
        low, high = ui.number(total["lower_80"]), ui.number(total["upper_80"])
        span = (f"Weeks {total['first_week']:%Y-%m-%d} to {total['last_week']:%Y-%m-%d}"
                + (f"; {partial_note}" if partial_note else ""))
        col.metric(f"Redemptions, next {weeks} weeks", dollars(total["forecast_dollars"]),
                   help=span)
        if low is not None and high is not None:
            col.caption(f"80 % range {dollars(low)} – {dollars(high)}")
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
                       mode="lines", showlegend=False, name="80 % range, upper")
    figure.add_scatter(x=ahead["week_start"], y=ahead["lower_80"], line={"width": 0},
                       mode="lines", fill="tonexty", fillcolor="rgba(76,120,168,0.25)",
                       name="80 % range, lower")
    figure.add_scatter(x=actual["week_start"], y=actual["redeemed_dollars"], name="actual",
                       mode="lines", line={"color": charts.TOTAL_COLOR, "width": 3})
    figure.add_scatter(x=ahead["week_start"], y=ahead["redeemed_dollars"], name="forecast",
                       mode="lines", line={"color": charts.PALETTE[0], "dash": "dash"})
    figure.update_layout(title="Weekly redeemed dollars: actual and 12-week forecast",
                         hovermode="x unified")
    figure.update_traces(hovertemplate=f"%{{fullData.name}}: {charts.hover(MONEY)}"
                                       "<extra></extra>")
    if as_of is not None:
        figure.add_shape(type="line", x0=as_of, x1=as_of, y0=0, y1=1, yref="paper",
                         line={"color": charts.TOTAL_COLOR, "dash": "dot", "width": 1})
        figure.add_annotation(x=as_of, y=1, yref="paper", text="as of", showarrow=False,
                              xanchor="left", yanchor="top")
    charts.style_axis(figure, "x", "Week (Monday)")
    charts.style_axis(figure, "y", "Redeemed per week", MONEY, rangemode="tozero")
    ui.chart(figure, "forecast", key="forecast_chart")
    ui.table(forecast, "mart_redemption_forecast", run_id)
backtest = ui.load(data_access.forecast_backtest, snapshot)
if backtest is not None and not backtest.empty:
    st.markdown("**Back-test: chosen model and baselines**")
    ui.table(backtest, "mart_redemption_forecast_backtest", run_id,
             definition="forecast_backtest")

# ----------------------------------------------------------------- breakage
st.subheader("Expiry breakage")
# every month by default: a month's breakage is only known a year after it
b_start, b_end = ui.date_range(snapshot, "breakage", "Months", default=periods.ALL)
breakage = ui.load(data_access.expiry_breakage, snapshot, b_start, b_end)
if breakage is not None:
    figure = chart_panels.month_bars(breakage, "month_start",
                                     ["earned_dollars", "expired_dollars"], kind=MONEY,
                                     complete="is_month_complete", value_title="Dollars",
                                     title="Earned vs expired rewards per month (dollars)")
    ui.chart(figure, "breakage", key="breakage_chart")
    if "is_month_complete" in breakage.columns and not breakage["is_month_complete"].all():
        st.caption("Hatched, \"(partial)\": the month of the as-of date, not over yet.")
    ui.table(breakage, "mart_expiry_breakage", run_id)
    if "is_cohort_expiry_observable" in breakage.columns:
        waiting = breakage[~breakage["is_cohort_expiry_observable"].astype(bool)]
        if not waiting.empty:
            st.caption(
                f"{ui.MISSING} = not observable yet, not zero: the credits earned in "
                f"{chart_panels.month_label(pd.Timestamp(waiting['month_start'].min()).date())}"
                " and later have not all reached their "
                f"{metric_definitions.VARS['reward_expiry_days']}-day expiry by the as-of "
                "date, so the share of that month's earnings that will expire is not known.")
