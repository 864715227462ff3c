"""Marketing: referral funnel by channel, weekly conversion, viral coefficient, referrers."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from streamlit_app import data_access, ui

FUNNEL_STAGES = ("sent", "clicked", "installed", "applied_within_48h", "onboarded",
                 "qualified")

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
        by_channel = funnel.groupby("channel", as_index=False)[list(FUNNEL_STAGES)].sum()
        figure = go.Figure()
        for record in by_channel.to_dict("records"):
            figure.add_trace(go.Funnel(name=record["channel"], y=list(FUNNEL_STAGES),
                                       x=[record[stage] for stage in FUNNEL_STAGES],
                                       textinfo="value+percent initial"))
        figure.update_layout(title="Referral funnel per channel (selected weeks)")
        ui.chart(figure, "referral_funnel", key="referral_funnel")
        weekly = funnel.groupby("sent_week", as_index=False)[["sent", "qualified"]].sum()
        weekly["conversion"] = weekly["qualified"] / weekly["sent"]
        trend = ui.line_figure(funnel, "sent_week", "conversion", color="channel",
                               percent=True,
                               title="Invite → qualified conversion by sent week and channel")
        trend.add_scatter(x=weekly["sent_week"], y=weekly["conversion"], name="all channels",
                          line={"color": "black", "dash": "dot"})
        ui.chart(trend, "referral_conversion", key="referral_conversion")
        ui.table(funnel, "mart_referral_funnel_weekly", run_id)

rejections = ui.load(data_access.referral_rejections, snapshot, start, end)
if rejections is not None:
    reasons = rejections.groupby(["rejection_reason", "channel"], as_index=False)[
        "rejections"].sum()
    figure = ui.bar_figure(reasons, "rejections", "rejection_reason", color="channel",
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
        cols[0].metric("K (complete cohorts)", f"{qualified / users:.3f}" if users else "n/a")
        cols[1].metric("i: invites per user", f"{invites / users:.2f}" if users else "n/a")
        cols[2].metric("c: invite conversion", f"{qualified / invites:.1%}" if invites else "n/a")
        median_cycle = complete["median_cycle_time_days"].median()
        cols[3].metric("Median cycle time (days)",
                       "n/a" if median_cycle != median_cycle else f"{median_cycle:.1f}")
        st.caption("Totals over the complete cohorts in range (30-day window closed); "
                   "cycle time is the median of the cohorts' medians.")
    figure = ui.line_figure(viral, "signup_week",
                            ["k_factor", "invites_per_user", "invite_conversion"],
                            title="K = i × c per sign-up cohort")
    ui.chart(figure, "viral", key="viral_chart")
    cycle = ui.bar_figure(viral, "signup_week", "median_cycle_time_days",
                          title="Viral cycle time per cohort (median days)")
    ui.chart(cycle, "cycle_time", key="cycle_chart")
    ui.table(viral, "mart_viral_coefficient", run_id)

# ----------------------------------------------------------------- referrers
st.subheader("Top referrers")
referrers = ui.load(data_access.top_referrers, snapshot)
if referrers is not None:
    ui.table(referrers, "mart_top_referrers", run_id, definition="top_referrers")
