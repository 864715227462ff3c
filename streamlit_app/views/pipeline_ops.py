"""Pipeline Ops: every run from its manifest, step durations, failures, log tail, manifest."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from streamlit_app import charts, data_access, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, md

st.title("Pipeline Ops")
trust.focus("pipeline_ops")
manifests = data_access.run_manifests()
if not manifests:
    st.info("No runs yet: no `logs/pipeline_<run_id>.json` manifest exists. "
            "Run `make pipeline` to start one.")
    st.stop()

runs = data_access.runs_frame(manifests)
counts = runs["status"].value_counts()
cols = st.columns(5)
cols[0].metric("Runs", f"{len(runs):,}")
cols[1].metric("Healthy", f"{int(counts.get('healthy', 0)):,}")
cols[2].metric("Warnings", f"{int(counts.get('warnings', 0)):,}")
cols[3].metric("Failed", f"{int(counts.get('failed', 0)):,}")
cols[4].metric("Running / abandoned",
               f"{int(counts.get('running', 0)) + int(counts.get(data_access.ABANDONED, 0)):,}")

st.subheader("Run history")
status_filter = st.multiselect("Status", sorted(runs["status"].dropna().unique()),
                               key="ops_status")
shown = runs if not status_filter else runs[runs["status"].isin(status_filter)]
history = shown.sort_values("started_at", ascending=False)
ui.table(history, "pipeline_runs")
st.caption("One row per run manifest (logs/pipeline_<run_id>.json): its health (healthy, "
           "warnings or failed: one status everywhere, from the run's findings, one per root "
           "cause), wall-clock duration, rows loaded into raw and built in marts, whether it "
           "published. abandoned = the manifest says running but the run's process is gone "
           "on this host (killed); the next pipeline run marks it interrupted.")

timeline = runs.dropna(subset=["started_at", "duration_s"])
if not timeline.empty:
    figure = charts.line_figure(timeline, "started_at", "duration_s", color="status",
                                title="Run duration over time", order=charts.STATUS_ORDER,
                                colors=charts.STATUS_COLORS)
    figure.update_traces(mode="markers")
    ui.chart(figure, "run_duration", key="run_durations")

st.subheader("Where the time goes")
steps = data_access.step_durations(manifests)
if steps.empty:
    st.info("No step timings recorded yet.")
else:
    timed = steps.dropna(subset=["duration_s"])
    latest_run = timed["run_id"].iloc[-1] if not timed.empty else None
    if latest_run is not None:
        last = timed[timed["run_id"] == latest_run].sort_values("duration_s", ascending=False)
        total = float(last["duration_s"].sum())
        top = last.iloc[0]
        typical = timed.groupby("step")["duration_s"].median().sort_values(ascending=False)
        st.markdown(
            f"**Slowest step of the newest run ({md(latest_run)}): {md(top['step'])}, "
            f"{float(top['duration_s']):,.1f} s of {total:,.1f} s "
            f"({float(top['duration_s']) / total:.0%}).** Over all {timed['run_id'].nunique()} "
            f"runs the slowest step is typically {md(typical.index[0])} "
            f"(median {float(typical.iloc[0]):,.1f} s).")
        bars = charts.bar_figure(last, "duration_s", "step", horizontal=True,
                                 title=f"Step durations of run {latest_run}, slowest first")
        ui.chart(bars, "step_durations", key="step_durations_latest")
    figure = charts.bar_figure(steps, "run_id", "duration_s", color="step",
                               order=charts.PIPELINE_STEPS, value_title="Duration",
                               title="Step durations per run (stacked in pipeline order)")
    ui.chart(figure, "step_durations", key="step_durations")

st.subheader("Failures")
failures = data_access.run_failures(manifests)
if failures.empty:
    st.success("No failed or interrupted runs.")
else:
    ui.table(failures, "pipeline_failures")

st.subheader("Inspect a run")
run_ids = list(reversed([doc["run_id"] for doc in manifests]))
served = ui.selected_choice().run_id
picked = st.selectbox("Run", run_ids, key="ops_run",
                      index=run_ids.index(served) if served in run_ids else 0)
if picked:
    ui.report_download(picked)
    tail = data_access.log_tail(picked)
    with st.expander(f"Log tail: logs/pipeline_{md(picked)}.log (last "
                     f"{data_access.LOG_TAIL_LINES} lines)", expanded=False):
        if tail is None:
            st.info("This run has no log file (a link or a pipe in its place is not read).")
        else:
            st.code(tail, language="text")
    document = data_access.run_manifest(picked) or {}
    if data_access.run_status(document) == data_access.ABANDONED:
        st.warning(md(data_access.abandoned_note(document), MESSAGE_CHARS))
    picked_health = data_access.run_health(picked)
    if picked_health is not None:
        st.markdown(f"Run {md(picked)}: **{picked_health.status}**, "
                    f"{len(picked_health.findings)} finding(s), one per root cause.")
        trust.findings_list(picked_health)
    warnings = document.get("warnings") or []
    anomalies = (document.get("anomalies") or {}).get("anomalies") or []
    if warnings:
        with st.expander(f"Every message the run logged ({len(warnings)}; the findings above "
                         "group them by root cause)"):
            ui.table(pd.DataFrame(warnings), "run_warnings", picked)
    if anomalies:
        with st.expander(f"Volume checks that fired ({len(anomalies)})"):
            ui.table(pd.DataFrame(anomalies), "volume_anomalies", picked)
    with st.expander(f"Manifest: logs/pipeline_{md(picked)}.json"):
        st.json(document)
