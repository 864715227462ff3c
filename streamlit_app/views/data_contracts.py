"""Data Contract Panel: every contract check of the run, by table and owner, with history."""

from __future__ import annotations

import streamlit as st

from streamlit_app import chart_panels, data_access, trust, ui

HISTORY_RUNS = 20

st.title("Data Contracts")
run_id, snapshot = ui.require_snapshot()
trust.focus("data_contracts")

results = ui.load(data_access.contract_checks, snapshot)
if results is None:
    st.stop()

filters = st.columns(3)
ui.url_default("contract_status", "status", ("PASS", "WARN", "FAIL"), many=True)
owners = filters[0].multiselect("Owner", sorted(results["owner"].dropna().unique()),
                                key="contract_owner")
statuses = filters[1].multiselect("Status", ["PASS", "WARN", "FAIL"], key="contract_status")
tables = filters[2].multiselect("Table", sorted(results["table_name"].dropna().unique()),
                                key="contract_table")
ui.url_sync("status", statuses, [])
shown = results
if owners:
    shown = shown[shown["owner"].isin(owners)]
if statuses:
    shown = shown[shown["status"].isin(statuses)]
if tables:
    shown = shown[shown["table_name"].isin(tables)]

counts = shown["status"].value_counts()
cols = st.columns(4)
cols[0].metric("Checks shown", f"{len(shown):,}", help=f"{len(results):,} checks in the run")
cols[1].metric("PASS", f"{int(counts.get('PASS', 0)):,}")
cols[2].metric("WARN", f"{int(counts.get('WARN', 0)):,}")
cols[3].metric("FAIL", f"{int(counts.get('FAIL', 0)):,}")

if shown.empty:
    ui.empty_filter("contract checks")
else:
    st.subheader("Checks")
    ORDER = {"FAIL": 0, "WARN": 1, "PASS": 2}
    checks = (shown.assign(_order=shown["status"].map(ORDER))
              .sort_values(["_order", "table_name", "check"]).drop(columns="_order"))
    first = ["status", "measured_value", "threshold", "table_name", "column_name", "check",
             "severity", "owner"]
    st.caption("FAIL checks first, then WARN, then PASS; the measured value sits next to "
               "its threshold, right after the status, so both show on a phone too.")
    ui.table(checks[[*first, *[c for c in checks.columns if c not in first]]],
             "contract_results", run_id, definition="contract_status")

    by_owner = (shown.groupby(["owner", "status"], as_index=False).size()
                .rename(columns={"size": "checks"}))
    figure = chart_panels.status_history(by_owner, "owner", "checks", "status",
                                         title="Contract checks by owner and status",
                                         x_title="Owner")
    ui.chart(figure, "contract_status", key="contracts_by_owner")

    by_table = (shown.assign(**{status: shown["status"].eq(status) for status in
                                ("PASS", "WARN", "FAIL")})
                .groupby(["owner", "table_name"], as_index=False)
                .agg(checks=("status", "size"), PASS=("PASS", "sum"), WARN=("WARN", "sum"),
                     FAIL=("FAIL", "sum")))
    st.subheader("By table and owner")
    ui.table(by_table, "contract_results_by_table", run_id)

# ----------------------------------------------------------------- two freshness clocks
st.subheader("Freshness: two clocks")
is_freshness = (results["check_type"].astype("string").str.contains("fresh", case=False)
                | results["check"].astype("string").str.contains("fresh", case=False))
freshness = results[is_freshness.fillna(False)]
clocks = st.columns(2)
with clocks[0]:
    st.markdown("**Ingestion time: dbt source freshness**")
    st.caption("Hours since the newest `_ingested_at` of each raw table when dbt checked it: "
               "did the loader run? A table loaded minutes ago passes even if its newest "
               "event is days old.")
    loaded = data_access.source_freshness(run_id)
    if loaded.empty:
        st.info("No source freshness results in this run's manifest.")
    else:
        ui.table(loaded[["source", "status", "age_hours"]], "freshness_ingestion", run_id)
with clocks[1]:
    st.markdown("**Event time: contract freshness**")
    st.caption("Hours between the newest event timestamp in the table (e.g. "
               "`created_at`) and the run's as-of cut-off, against the contract's SLA: is "
               "the data itself recent? A stale export fails here while loading passes.")
    if freshness.empty:
        st.info("No freshness checks in this run's contracts.")
    else:
        ui.table(freshness[["table_name", "column_name", "measured_value", "threshold",
                            "status"]], "contract_freshness", run_id)

st.subheader("History across runs")
history = data_access.contract_history(data_access.successful_runs()[:HISTORY_RUNS])
st.caption(f"The last {HISTORY_RUNS} successful runs with contract results.")
if history.empty:
    st.info("No contract results in any snapshot yet.")
else:
    totals = (history.groupby(["run_id", "started_at", "status"], as_index=False)["checks"]
              .sum().sort_values("started_at"))
    # WARN and FAIL on a panel of their own: a handful beside thousands of PASS would
    # be an invisible sliver of one stacked bar
    figure = chart_panels.status_history(totals, "run_id", "checks", "status",
                                         title="Contract outcomes per run")
    ui.chart(figure, "contract_history", key="contract_history")
    not_passing = history[history["status"] != "PASS"]
    if not not_passing.empty:
        ui.table(not_passing, "contract_history_not_passing")
