"""Marketing: referral funnel by channel, weekly conversion, viral coefficient, referrers."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from foundation import metric_definitions
from streamlit_app import (
    charts,
    data_access,
    health,
    periods,
    trust,
    ui,
)
from streamlit_app.literal import chart_text

FUNNEL_STAGES = ("sent", "clicked", "installed", "applied_within_48h", "onboarded",
                 "qualified")
#: each stage as the chart's axis names it (short enough for a phone)
STAGE_LABELS = {"sent": "Sent", "clicked": "Clicked", "installed": "Installed",
                "applied_within_48h": "Applied ≤ 48 h", "onboarded": "Onboarded",
                "qualified": "Qualified"}

st.title("Marketing")
run_id, snapshot = ui.require_snapshot()

# ----------------------------------------------------------------- referral funnel
st.subheader("Referral funnel by channel")
start, end = ui.date_range(snapshot, "referrals", "Invite sent weeks")
funnel = ui.load(data_access.referral_funnel, snapshot, start, end)
if funnel is not None:
    channels = sorted(funnel["channel"].dropna().unique())
    picked = st.multiselect("Channels", channels, default=channels, key="mkt_channels")
    funnel = funnel[funnel["channel"].isin(picked)]
    if funnel.empty:
        st.info("Pick at least one channel.")
    else:
        previous = (data_access.referral_funnel(snapshot, *periods.previous_period(start, end))
                    if start is not None and end is not None else None)
        if previous is not None:
            previous = previous[previous["channel"].isin(picked)]
        # a change computed on data a finding affects is neither good nor bad news
        good = None if trust.affected(data_access.READS["referral_funnel"]) else True
        cols = st.columns(4)
        sent, qualified = int(funnel["sent"].sum()), int(funnel["qualified"].sum())
        was_sent = None if previous is None or previous.empty else int(previous["sent"].sum())
        was_qualified = (None if previous is None or previous.empty
                         else int(previous["qualified"].sum()))
        for col, label, now, before in ((cols[0], "Invites sent", sent, was_sent),
                                        (cols[1], "Qualified referrals", qualified,
                                         was_qualified)):
            change = health.kpi_delta(now, before, up_is_good=good)
            col.metric(label, charts.format_value(now, "count"), change.text,
                       delta_color=change.color, delta_arrow=change.arrow)
        rate = qualified / sent if sent else None
        was_rate = was_qualified / was_sent if was_sent else None
        change = health.kpi_delta(rate, was_rate, digits=1, percent=True, up_is_good=good)
        cols[2].metric("Invite → qualified", charts.format_value(rate, "share"), change.text,
                       delta_color=change.color, delta_arrow=change.arrow)
        cols[3].metric("Channels", charts.format_value(len(picked), "count"))
        st.caption("Totals over the selected weeks; the change is against the period of equal "
                   "length just before.")
        # each channel's share of its invites reaching each stage: channels of very
        # different sizes compare on one scale, and no label sits inside a thin bar
        by_channel = funnel.groupby("channel", as_index=False)[list(FUNNEL_STAGES)].sum()
        figure = go.Figure()
        palette = charts.color_map(list(by_channel["channel"]))
        labels = [STAGE_LABELS[stage] for stage in FUNNEL_STAGES]
        for record in by_channel.to_dict("records"):
            counts = [int(record[stage]) for stage in FUNNEL_STAGES]
            shares = [count / counts[0] if counts[0] else None for count in counts]
            figure.add_scatter(x=labels, y=shares, name=record["channel"],
                               mode="lines+markers", customdata=counts,
                               line={"color": palette[record["channel"]]},
                               hovertemplate=f"{chart_text(record['channel'])}: %{{x}} "
                                             "%{customdata:,} invites "
                                             f"({charts.hover('share')} of sent)"
                                             "<extra></extra>")
        figure.update_layout(title="Referral funnel per channel: share of invites sent "
                                   "reaching each stage (selected weeks)",
                             legend_title_text="Channel")
        figure.update_xaxes(type="category", title_text="Stage")
        charts.style_axis(figure, "y", "Share of invites sent", "share",
                          rangemode="tozero")
        ui.chart(figure, "referral_funnel", key="referral_funnel")
        weekly = funnel.groupby("sent_week", as_index=False)[["sent", "qualified"]].sum()
        weekly["conversion"] = weekly["qualified"] / weekly["sent"]
        trend = charts.line_figure(funnel, "sent_week", "conversion", color="channel",
                                   title="Invite → qualified conversion by sent week and channel")
        trend.add_scatter(x=weekly["sent_week"], y=weekly["conversion"], name="all channels",
                          line={"color": charts.TOTAL_COLOR, "dash": "dash", "width": 3},
                          hovertemplate=f"all channels: {charts.hover('share')}<extra></extra>")
        ui.chart(trend, "referral_conversion", key="referral_conversion")
        ui.table(funnel, "mart_referral_funnel_weekly", run_id)

rejections = ui.load(data_access.referral_rejections, snapshot, start, end)
if rejections is not None:
    reasons = rejections.groupby(["rejection_reason", "channel"], as_index=False)[
        "rejections"].sum()
    figure = charts.bar_figure(reasons, "rejections", "rejection_reason", color="channel",
                           horizontal=True, title="Rejected referrals by reason")
    ui.chart(figure, "rejections", key="rejections_chart")
    ui.table(rejections, "mart_referral_rejections", run_id)

# ----------------------------------------------------------------- viral coefficient
st.subheader("Viral coefficient by sign-up cohort")
v_start, v_end = ui.date_range(snapshot, "viral", "Sign-up weeks")
viral = ui.load(data_access.viral_coefficient, snapshot, v_start, v_end)
if viral is not None:
    complete = viral[viral["is_cohort_complete"]]
    if not complete.empty:
        users = complete["cohort_users"].sum()
        invites = complete["invites_sent_30d"].sum()
        qualified = complete["qualified_referred_users"].sum()
        cols = st.columns(4)
        cols[0].metric("K (complete cohorts)",
                       charts.format_value(qualified / users if users else None, "ratio"))
        cols[1].metric("i: invites per user",
                       charts.format_value(invites / users if users else None, "ratio"))
        cols[2].metric("c: invite conversion",
                       charts.format_value(qualified / invites if invites else None, "share"))
        cols[3].metric("Median cycle time",
                       charts.format_value(complete["median_cycle_time_days"].median(),
                                           "days"))
        st.caption(f"Totals over the complete cohorts in range "
                   f"({metric_definitions.VARS['viral_invite_window_days']}-day window closed); "
                   "cycle time is the median of the cohorts' medians.")
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=("K-factor (K = i × c)", "Invites per user (i)",
                                           "Invite conversion (c)"))
    for row, column in enumerate(("k_factor", "invites_per_user", "invite_conversion"),
                                 start=1):
        charts.cohort_lines(figure, viral, "signup_week", column, row=row)
        charts.style_axis_row(figure, row, "", charts.kind_of(column))
    figure.update_layout(title="Viral coefficient per sign-up cohort", height=620,
                         showlegend=False)
    figure.update_xaxes(title_text="Sign-up week", row=3, col=1)
    ui.chart(figure, "viral", key="viral_chart")
    st.caption(charts.COHORT_NOTE)
    cycle = charts.bar_figure(viral, "signup_week", "median_cycle_time_days",
                          title="Viral cycle time per cohort (median days)")
    ui.chart(cycle, "cycle_time", key="cycle_chart")
    ui.table(viral, "mart_viral_coefficient", run_id)

# ----------------------------------------------------------------- referrers
st.subheader("Top referrers")
referrers = ui.load(data_access.top_referrers, snapshot)
if referrers is not None:
    ui.table(referrers, "mart_top_referrers", run_id, definition="top_referrers")
