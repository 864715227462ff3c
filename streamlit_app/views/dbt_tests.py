"""dbt Test Results: node counts by status, the tests, failures with samples, timings."""

from __future__ import annotations

import streamlit as st

from streamlit_app import charts, data_access, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, block, cut, md

SAMPLE_ROWS = 20
#: failing tests shown open when there are at most this many (a finding's link opens its own)
OPEN_BELOW = 3

st.title("dbt Test Results")
run_id, snapshot = ui.require_snapshot()
focused = trust.focus("dbt_tests")
focused_tests = {s.ref for s in (*focused.evidence, *focused.consequences)} if focused else set()

try:
    results = data_access.dbt_results(snapshot)
    source = "ops.dbt_results"
except data_access.DataUnavailable:
    results = data_access.dbt_run_results_file(run_id)
    source = f"logs/dbt/{cut(run_id)}/target/run_results.json"
    if results is not None:
        st.caption("This snapshot has no ops.dbt_results table; showing the run's "
                   "run_results.json instead.")
except data_access.SnapshotUnreadable as exc:
    st.error(md(exc, MESSAGE_CHARS))
    st.stop()
if results is None or results.empty:
    st.info("No dbt results recorded for this run (neither ops.dbt_results nor "
            "run_results.json is available).")
    st.stop()

# ----------------------------------------------------------------- counts
built = results[results["resource_type"] != "source_freshness"]
counts = (built.groupby(["resource_type", "status"], as_index=False).size()
          .rename(columns={"size": "nodes"}))
summary = data_access.dbt_summary(run_id)
cols = st.columns(4)
cols[0].metric("dbt build nodes", f"{summary.total:,}",
               help="Models, data tests and unit tests of `dbt build`, as the run's manifest "
                    "and the console count them; source freshness is reported below.")
cols[1].metric("Pass", f"{summary.passed:,}")
cols[2].metric("Warn", f"{summary.warn:,}")
cols[3].metric("Error / fail", f"{summary.error:,}")
figure = charts.bar_figure(counts, "resource_type", "nodes", color="status",
                       colors=charts.STATUS_COLORS, order=charts.STATUS_ORDER,
                       title=f"dbt nodes by type and status (from {source})")
ui.chart(figure, "dbt_status", key="dbt_counts")

# ----------------------------------------------------------------- failures
st.subheader("Failing and warning tests")
failing = results[results["status"].isin(["fail", "error", "warn"])]
if failing.empty:
    st.success("Every dbt test passed in this run.")
else:
    try:
        samples = data_access.dbt_failure_samples(snapshot)
    except data_access.DataUnavailable:
        samples = None
        ui.ops_note("No failing-row samples (ops.dbt_test_failure_samples is missing).")
    except data_access.SnapshotUnreadable as exc:
        samples = None
        st.error(md(exc, MESSAGE_CHARS))
    for record in failing.to_dict("records"):
        opened = record["unique_id"] in focused_tests or len(failing) <= OPEN_BELOW
        with st.expander(f"{md(str(record['status']).upper())}: {md(record['name'])}",
                         expanded=opened):
            st.text(block(record.get("message") or "(no message)"))
            if samples is not None and "unique_id" in samples.columns:
                rows = data_access.failure_sample_rows(samples, record["unique_id"])
                if rows.empty:
                    st.caption("No sample of failing rows stored for this test.")
                else:
                    st.caption(f"Sample of failing rows (up to {SAMPLE_ROWS}):")
                    st.dataframe(rows.head(SAMPLE_ROWS), hide_index=True)

# ----------------------------------------------------------------- tests
st.subheader("Tests")
ORDER = {"error": 0, "fail": 0, "runtime error": 0, "warn": 1}
tests = (results[results["resource_type"].isin(["test", "unit_test"])]
         .assign(_order=lambda f: f["status"].map(ORDER).fillna(2))
         .sort_values(["_order", "name"]).drop(columns="_order"))
filters = st.columns(2)
statuses = filters[0].multiselect("Status", sorted(tests["status"].dropna().unique()),
                                  key="dbt_status_filter")
search = filters[1].text_input("Name contains", key="dbt_search")
if statuses:
    tests = tests[tests["status"].isin(statuses)]
if search:
    tests = tests[tests["name"].str.contains(search, case=False, na=False, regex=False)]
if tests.empty:
    ui.empty_filter("dbt tests")
else:
    ui.table(tests[["name", "resource_type", "status", "failures", "execution_time_s",
                    "message"]], "dbt_tests", run_id)

# ----------------------------------------------------------------- timings
st.subheader("Slowest models")
models = results[results["resource_type"] == "model"].dropna(subset=["execution_time_s"])
if models.empty:
    st.info("No model timings recorded.")
else:
    slowest = models.nlargest(15, "execution_time_s")
    figure = charts.bar_figure(slowest, "execution_time_s", "name", horizontal=True,
                           title="Slowest 15 models")
    ui.chart(figure, "dbt_slowest", key="dbt_slowest")

# ----------------------------------------------------------------- freshness
st.subheader("Source freshness")
freshness = data_access.source_freshness(run_id)
if freshness.empty:
    st.info("No source freshness results in this run's manifest.")
else:
    ui.table(freshness[["source", "status", "max_loaded_at", "snapshotted_at", "age_hours"]],
             "source_freshness", run_id, definition="freshness")
st.caption("This clock measures ingestion time (when the loader wrote the rows). The data "
           "contracts measure event time (how old the newest event is), so a stale export "
           "can pass here and WARN there: both are side by side on Data Contracts.")
ui.page_link("data_contracts", "Both freshness clocks side by side →",
             icon=":material/schedule:")
