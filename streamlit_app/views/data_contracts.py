"""Data Contract Panel: every contract check of the run, by table and owner, with history."""

from __future__ import annotations

import streamlit as st

from streamlit_app import data_access, ui

HISTORY_RUNS = 20

st.title("Data Contracts")
run_id, snapshot = ui.require_snapshot()

results = ui.load(data_access.contract_checks, snapshot)
if results is None:
    st.stop()

counts = results["status"].value_counts()
cols = st.columns(4)
cols[0].metric("Checks", len(results))
cols[1].metric("PASS", int(counts.get("PASS", 0)))
cols[2].metric("WARN", int(counts.get("WARN", 0)))
cols[3].metric("FAIL", int(counts.get("FAIL", 0)))

filters = st.columns(3)
owners = filters[0].multiselect("Owner", sorted(results["owner"].dropna().unique()),
                                key="contract_owner")
statuses = filters[1].multiselect("Status", ["PASS", "WARN", "FAIL"], key="contract_status")
tables = filters[2].multiselect("Table", sorted(results["table_name"].dropna().unique()),
                                key="contract_table")
shown = results
if owners:
    shown = shown[shown["owner"].isin(owners)]
if statuses:
    shown = shown[shown["status"].isin(statuses)]
if tables:
    shown = shown[shown["table_name"].isin(tables)]

by_owner = (shown.groupby(["owner", "status"], as_index=False).size()
            .rename(columns={"size": "checks"}))
figure = ui.bar_figure(by_owner, "owner", "checks", color="status", colors=ui.STATUS_COLORS,
                       title="Contract checks by owner and status")
ui.chart(figure, "contract_status", key="contracts_by_owner")

by_table = (shown.assign(**{status: shown["status"].eq(status) for status in
                            ("PASS", "WARN", "FAIL")})
            .groupby(["owner", "table_name"], as_index=False)
            .agg(checks=("status", "size"), PASS=("PASS", "sum"), WARN=("WARN", "sum"),
                 FAIL=("FAIL", "sum")))
st.subheader("By table and owner")
ui.table(by_table, "contract_results_by_table", run_id)


st.subheader("Checks")
ORDER = {"FAIL": 0, "WARN": 1, "PASS": 2}
checks = (shown.assign(_order=shown["status"].map(ORDER))
          .sort_values(["_order", "table_name", "check"]).drop(columns="_order"))
st.caption("FAIL checks first, then WARN, then PASS.")
ui.table(checks[["status", *[c for c in checks.columns if c != "status"]]], "contract_results",
         run_id, definition="contract_status")

is_freshness = (shown["check_type"].astype("string").str.contains("fresh", case=False)
                | shown["check"].astype("string").str.contains("fresh", case=False))
freshness = shown[is_freshness.fillna(False)]
if not freshness.empty:
    st.subheader("Freshness")
    ui.table(freshness[["table_name", "owner", "column_name", "measured_value", "threshold",
                        "status"]], "contract_freshness", run_id)
    st.caption("Freshness age: hours between the newest timestamp of the table's freshness "
               "column and the run's reference time, against the contract's SLA.")

st.subheader("History across runs")
history = data_access.contract_history(data_access.successful_runs()[:HISTORY_RUNS])
st.caption(f"The last {HISTORY_RUNS} successful runs with contract results.")
if history.empty:
    st.info("No contract results in any snapshot yet.")
else:
    totals = (history.groupby(["run_id", "started_at", "status"], as_index=False)["checks"]
              .sum().sort_values("started_at"))
    figure = ui.bar_figure(totals, "run_id", "checks", color="status",
                           colors=ui.STATUS_COLORS, title="Contract outcomes per run")
    ui.chart(figure, "contract_history", key="contract_history")
    not_passing = history[history["status"] != "PASS"]
    if not not_passing.empty:
        ui.table(not_passing, "contract_history_not_passing")
