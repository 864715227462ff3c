"""Product: engagement, activation funnel, feature adoption, retention, time to first use."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from foundation import metric_definitions
from streamlit_app import (
    charts,
    data_access,
    health,
    periods,
    trust,
    ui,
)

#: the activation window, as dbt_project.yml states it (metric_definitions.py is generated)
ACTIVATION_DAYS = metric_definitions.VARS["activation_window_days"]

st.title("Product")
run_id, snapshot = ui.require_snapshot()

# ----------------------------------------------------------------- engagement
st.subheader("Active users and stickiness")
start, end = ui.date_range(snapshot, "engagement", "Activity dates")
engagement = ui.load(data_access.daily_engagement, snapshot, start, end)
if engagement is not None:
    latest = engagement.iloc[-1]
    previous = None
    if start is not None and end is not None:
        before = data_access.daily_engagement(snapshot, *periods.previous_period(start, end))
        previous = None if before.empty else before.iloc[-1]
    # a change computed on data a finding affects is neither good nor bad news (trust.py)
    good = None if trust.affected(data_access.READS["daily_engagement"]) else True
    cols = st.columns(4)
    for col, (label, name) in zip(cols, (("DAU", "dau"), ("WAU", "wau"), ("MAU", "mau")),
                                  strict=False):
        change = health.kpi_delta(float(latest[name]),
                                  None if previous is None else float(previous[name]),
                                  up_is_good=good)
        col.metric(label, charts.format_value(latest[name], "count"), change.text,
                   delta_color=change.color,
                   delta_arrow=change.arrow)
    stickiness = latest["stickiness"]
    change = health.kpi_delta(None if stickiness != stickiness else float(stickiness),
                              None if previous is None else float(previous["stickiness"]),
                              digits=1, percent=True, up_is_good=good)
    cols[3].metric("Stickiness", charts.format_value(stickiness, "share"), change.text,
                   delta_color=change.color, delta_arrow=change.arrow)
    st.caption(f"Figures for {latest['activity_date']:%Y-%m-%d}, the last date in the period; "
               "the change is against the last date of the period of equal length before it"
               + ("" if previous is None else
                  f" ({previous['activity_date']:%Y-%m-%d})") + ".")
    ui.chart(charts.line_figure(engagement, "activity_date", ["dau", "wau", "mau"],
                                y_title="Active users", title="DAU / WAU / MAU"),
             "dau", key="dau_chart")
    ui.chart(charts.line_figure(engagement, "activity_date", "stickiness",
                                title="Stickiness (DAU / MAU)"), "stickiness",
             key="stickiness_chart")
    ui.table(engagement, "mart_daily_engagement", run_id)

# ----------------------------------------------------------------- activation
st.subheader("Activation funnel by install cohort")
a_start, a_end = ui.date_range(snapshot, "activation", "Install weeks")
funnel = ui.load(data_access.activation_funnel, snapshot, a_start, a_end)
if funnel is not None:
    complete_only = st.toggle(f"Complete cohorts only ({ACTIVATION_DAYS}-day window closed)",
                              value=True,
                              key="activation_complete")
    shown = funnel[funnel["is_cohort_complete"]] if complete_only else funnel
    if shown.empty:
        st.info("No complete install cohorts in the selected weeks.")
    else:
        totals = (shown.groupby(["stage_order", "stage"], as_index=False)["users"].sum()
                  .sort_values("stage_order"))
        # counts with separators and one-decimal shares, as everywhere else
        figure = go.Figure(go.Funnel(
            y=[charts.human(stage) for stage in totals["stage"]], x=totals["users"],
            texttemplate="%{value:,}<br>%{percentInitial:.1%} of installs",
            textposition="inside", marker_color=charts.PALETTE[0],
            hovertemplate="%{y}: %{value:,} users<br>%{percentPrevious:.1%} of the previous "
                          "stage, %{percentInitial:.1%} of installs<extra></extra>"))
        figure.update_layout(title="Activation funnel (all selected install weeks)")
        ui.chart(figure, "activation", key="activation_funnel")
        stages = [charts.human(stage) for stage in totals["stage"]]
        by_week = go.Figure()
        charts.cohort_lines(by_week, shown.assign(stage=shown["stage"].map(charts.human)),
                            "install_week", "conversion_from_installed", color="stage",
                            order=stages)
        by_week.update_layout(title="Conversion from install by install week",
                              legend_title_text="Stage (funnel order)")
        charts.style_axis(by_week, "x", "Install week")
        charts.style_axis(by_week, "y", "Share of installs", "share")
        ui.chart(by_week, "activation", key="activation_weeks")
        st.caption(charts.COHORT_NOTE)
    ui.table(funnel, "mart_activation_funnel", run_id)

st.subheader("Stage reach in any order (not a funnel)")
reach = ui.load(data_access.activation_stage_reach, snapshot, a_start, a_end)
if reach is not None:
    complete_only = st.session_state.get("activation_complete", True)
    complete = reach[reach["is_cohort_complete"]] if complete_only else reach
    reach_totals = (complete.groupby(["stage_order", "stage"], as_index=False)["users"].sum()
                    .sort_values("stage_order"))
    reach_totals["stage"] = reach_totals["stage"].map(charts.human)
    figure = charts.bar_figure(reach_totals, "stage", "users",
                           title=f"Users who reached each stage within {ACTIVATION_DAYS} days, "
                                 "any order")
    ui.chart(figure, "stage_reach", key="activation_stage_reach")
    ui.table(reach, "mart_activation_stage_reach", run_id)

# ----------------------------------------------------------------- adoption
st.subheader("Feature adoption")
f_start, f_end = ui.date_range(snapshot, "adoption", "Activity weeks")
adoption = ui.load(data_access.feature_adoption, snapshot, f_start, f_end)
if adoption is not None:
    figure = charts.line_figure(adoption, "activity_week", "adoption_share", color="feature",
                                title="Share of weekly active users using each feature")
    ui.chart(figure, "adoption", key="adoption_chart")
    ui.table(adoption, "mart_feature_adoption_weekly", run_id)

first_use = ui.load(data_access.time_to_first_use, snapshot)
if first_use is not None:
    figure = charts.bar_figure(first_use, "feature",
                           ["median_days_to_first_use", "p75_days_to_first_use"],
                           barmode="group", value_title="Days from sign-up",
                           title="Days from sign-up to first use")
    ui.chart(figure, "time_to_first_use", key="first_use_chart")
    ui.table(first_use, "mart_time_to_first_use", run_id)

# ----------------------------------------------------------------- retention
st.subheader("Retention by sign-up cohort")
r_start, r_end = ui.date_range(snapshot, "retention", "Sign-up weeks")
retention = ui.load(data_access.retention_cohorts, snapshot, r_start, r_end)
if retention is not None:
    max_weeks = st.slider("Weeks after sign-up", 4, 52, 12, key="retention_weeks")
    window = retention[retention["weeks_since_signup"] <= max_weeks]
    figure = charts.cohort_heatmap(window, row="signup_week", column="weeks_since_signup",
                                   value="retention",
                                   title="Retention heatmap (share of cohort active in week N)",
                                   x_title="Weeks since sign-up", y_title="Sign-up week")
    ui.chart(figure, "retention", key="retention_heatmap")
    st.caption(charts.HEATMAP_NOTE)
    ui.table(retention, "mart_retention_cohorts", run_id)
