"""Schema & Drift: the snapshot's schema, drift against the previous run, any two runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from streamlit_app import charts, data_access, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, md

st.title("Schema & Drift")
run_id, snapshot = ui.require_snapshot()
trust.focus("schema_drift")

columns = data_access.schema_of_run(run_id)
if columns is None:
    try:
        columns = data_access.schema_columns_table(snapshot)
        st.caption("No logs/schema_<run_id>.json for this run; read ops.schema_columns.")
    except data_access.DataUnavailable:
        columns = None
    except data_access.SnapshotUnreadable as exc:
        st.error(md(exc, MESSAGE_CHARS))
        st.stop()
if columns is None or columns.empty:
    st.info(f"No schema snapshot for run {md(run_id)} (logs/schema_{md(run_id)}.json is "
            "missing).")
    st.stop()

# ----------------------------------------------------------------- browser
st.subheader("Schema browser")
summary = (columns.groupby(["table_schema", "table_name"], as_index=False)
           .agg(columns=("column_name", "count")))
figure = charts.bar_figure(summary.groupby("table_schema", as_index=False).size()
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
recorded = (data_access.run_manifest(run_id) or {}).get("schema_drift") or {}
changes = pd.DataFrame(recorded.get("changes") or [])
previous_id = recorded.get("previous_run_id")
if not recorded:
    st.info(f"Run {md(run_id)} recorded no schema drift (built before drift was tracked).")
elif previous_id is None:
    st.info("This is the first successful run: nothing to compare with.")
elif changes.empty:
    st.success(f"No schema changes since {md(previous_id)}.")
else:
    run_health = trust.selected_health()
    found = [f for f in (run_health.findings if run_health else ())
             if f.category == "schema change"]
    in_snapshot = int((changes["layer"] == "snapshot").sum())
    st.warning(f"{len(found)} table(s) changed since {md(previous_id)}: {in_snapshot} column "
               f"change(s) in the snapshot, {len(changes) - in_snapshot} in the source files; "
               "one finding per table.")
    for finding in found:
        trust.finding_link(finding)
    ui.table(changes[["layer", "schema", "table", "column", "change", "before", "after",
                      "detail"]], "schema_drift_previous", run_id)
st.caption("Drift: tables or columns added or removed and columns whose type or nullability "
           "changed (layer snapshot, from the logs/schema_<run_id>.json snapshots), and "
           "source files whose columns differ from their declaration (layer source), as "
           "the pipeline recorded them in the run's manifest.")
ui.page_link("compare", "Compare any two runs (schema, row counts, outcomes) →",
             icon=":material/compare_arrows:")
