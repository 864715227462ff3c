"""Schema & Drift: the snapshot's schema, drift against the previous run, any two runs."""

from __future__ import annotations

import streamlit as st

from streamlit_app import data_access, ui

st.title("Schema & Drift")
run_id, snapshot = ui.require_snapshot()

columns = data_access.schema_of_run(run_id)
if columns is None:
    try:
        columns = data_access.schema_columns_table(snapshot)
        st.caption("No logs/schema_<run_id>.json for this run; read ops.schema_columns.")
    except data_access.DataUnavailable:
        columns = None
    except data_access.SnapshotUnreadable as exc:
        st.error(str(exc))
        st.stop()
if columns is None or columns.empty:
    st.info(f"No schema snapshot for run {run_id} (logs/schema_{run_id}.json is missing).")
    st.stop()

# ----------------------------------------------------------------- browser
st.subheader("Schema browser")
summary = (columns.groupby(["table_schema", "table_name"], as_index=False)
           .agg(columns=("column_name", "count")))
figure = ui.bar_figure(summary.groupby("table_schema", as_index=False).size()
                       .rename(columns={"size": "tables"}), "table_schema", "tables",
                       title="Tables per schema")
ui.chart(figure, "schema_tables", key="schema_tables")
picks = st.columns(2)
schema = picks[0].selectbox("Schema", sorted(columns["table_schema"].unique()),
                            key="schema_pick")
tables = sorted(columns.loc[columns["table_schema"] == schema, "table_name"].unique())
table_name = picks[1].selectbox("Table", tables, key="schema_table_pick")
detail = columns[(columns["table_schema"] == schema) & (columns["table_name"] == table_name)]
ui.table(detail, f"schema_{schema}_{table_name}", run_id)
with st.expander("All tables"):
    ui.table(summary, "schema_tables", run_id)

# ----------------------------------------------------------------- drift vs previous
st.subheader("Drift against the previous run")
previous_id = data_access.previous_successful_run(run_id)
if previous_id is None:
    st.info("This is the first successful run: nothing to compare with.")
else:
    before = data_access.schema_of_run(previous_id)
    if before is None:
        st.info(f"The previous run {previous_id} has no schema snapshot.")
    else:
        drift = data_access.schema_diff(before, columns)
        if drift.empty:
            st.success(f"No schema changes since {previous_id}.")
        else:
            st.warning(f"{len(drift)} schema change(s) since {previous_id}.")
            ui.table(drift, "schema_drift_previous", run_id)
recorded = (data_access.run_manifest(run_id) or {}).get("schema_drift")
if recorded:
    with st.expander("Drift recorded by the pipeline (manifest `schema_drift`)"):
        st.json(recorded)

# ----------------------------------------------------------------- any two runs
st.subheader("Compare two runs")
runs = data_access.runs_with_schema()
if len(runs) < 2:
    st.info("At least two runs with a schema snapshot are needed to compare.")
else:
    picks = st.columns(2)
    left = picks[0].selectbox("Before", runs, index=1, key="schema_before")
    right = picks[1].selectbox("After", runs, index=0, key="schema_after")
    drift = data_access.schema_diff(data_access.schema_of_run(left),
                                    data_access.schema_of_run(right))
    if drift.empty:
        st.success(f"Schemas of {left} and {right} are identical.")
    else:
        ui.table(drift, "schema_drift_compare")
st.caption("Drift: tables or columns added or removed, and columns whose type or "
           "nullability changed, from the logs/schema_<run_id>.json snapshots.")
