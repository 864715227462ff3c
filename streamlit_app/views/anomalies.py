"""Anomalies: each flagged metric with its band and flagged days, told in words; the
history of any monitored metric, flagged or not."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.checks.metric_anomalies import FlaggedDay, group_causes
from streamlit_app import charts, data_access, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, md

st.title("Anomalies")
run_id, snapshot = ui.require_snapshot()
trust.focus("anomalies")


def value_kind(metric: str) -> str:
    """Shares and rates as ratios, everything else (counts, cents, hours) as counts."""
    return "ratio" if metric.endswith(("_share", "_rate")) else "count"


def series_chart(metric: str, dimension: str, value: str, key: str,
                 with_table: bool = False) -> None:
    """One series over the scored days with its band (and its days as a table, with a
    CSV download, when ``with_table``); nothing when the mart lacks it."""
    history = ui.load(data_access.metric_series, snapshot, metric, dimension, value,
                      caution=False)
    if history is None:
        return
    where = "" if dimension == "all" else f" for {dimension} {value}"
    figure = charts.band_figure(history, title=f"{metric}{where}", kind=value_kind(metric))
    ui.chart(figure, "metric_band", key=key)
    if with_table:
        with st.expander("The series day by day"):
            ui.table(history, "metric_history", run_id)


# ----------------------------------------------------------------- flagged now
st.subheader("Flagged in the detection period")
try:
    flagged_frame = data_access.flagged_anomalies(snapshot)
except data_access.DataUnavailable:
    st.info("This snapshot has no anomaly marts (built before the monitoring layer).")
    st.stop()
except data_access.SnapshotUnreadable as exc:
    st.error(md(exc, MESSAGE_CHARS))
    st.stop()


def known(value: object) -> float | None:
    """A mart number as a float; None when null."""
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


rows = [FlaggedDay(str(r.metric), str(r.dimension), str(r.dimension_value),
                   pd.Timestamp(r.metric_date).date(), known(r.actual), known(r.expected),
                   known(r.score), str(r.reason or ""))
        for r in flagged_frame.itertuples(index=False)]
causes = group_causes(rows)
if not causes:
    st.success("Nothing flagged: every monitored metric stayed within its band over the "
               "last complete days.")
for number, cause in enumerate(causes):
    st.warning(f"**{md(cause.describe(), MESSAGE_CHARS)}**  \n"
               f"{md(cause.reason, MESSAGE_CHARS)} "
               f"({cause.flagged_rows} flagged series-days on {md(cause.table)})")
    series_chart(cause.metric, cause.dimension, cause.dimension_value, f"cause_{number}")
if causes:
    with st.expander("Every flagged series and day"):
        ui.table(flagged_frame, "flagged_anomalies", run_id)

# ----------------------------------------------------------------- any metric's history
st.subheader("History of any monitored metric")
series = ui.load(data_access.monitored_series, snapshot, caution=False)
if series is None:
    st.stop()
metrics = sorted(series["metric"].unique())
default_metric = causes[0].metric if causes else (
    "app_events.row_count" if "app_events.row_count" in metrics else metrics[0])
picks = st.columns(3)
metric = picks[0].selectbox("Metric", metrics, index=metrics.index(default_metric),
                            key="anomaly_metric")
of_metric = series[series["metric"] == metric]
dimensions = sorted(of_metric["dimension"].unique(), key=lambda d: (d != "all", d))
dimension = picks[1].selectbox("Dimension", dimensions, key="anomaly_dimension")
values = sorted(of_metric.loc[of_metric["dimension"] == dimension, "dimension_value"])
value = picks[2].selectbox("Value", values, key="anomaly_value")
series_chart(metric, dimension, value, "history", with_table=True)
st.caption("Scored days: the 13 weeks before the detection period, each week judged "
           "against the 12 weeks before it without earlier flagged days, then the "
           "detection period (the last 7 complete days). Flagged anomalies are warnings: "
           "a run never fails on one.")
