"""Run Comparison: any two runs side by side, from the pipeline's own diff
(``pipeline.checks.comparison.compare``, the one ``runs.py diff`` prints) plus headline KPIs."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from streamlit_app import data_access, health, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, md

st.title("Run Comparison")
ui.require_snapshot()  # no snapshot (or an unreadable one) is said once, as on every page
runs = [doc["run_id"] for doc in reversed(data_access.run_manifests())]
if len(runs) < 2:
    st.info("At least two runs are needed to compare: run `make pipeline` again.")
    st.stop()
selected = ui.selected_choice().run_id
after_default = selected if selected in runs else runs[0]
before_default = data_access.previous_successful_run(after_default) or next(
    run for run in runs if run != after_default)
ui.url_choice("compare_before", "before", runs, before_default)
ui.url_choice("compare_after", "after", runs, after_default)
picks = st.columns(2)
before = picks[0].selectbox("Before", runs, key="compare_before")
after = picks[1].selectbox("After", runs, key="compare_after")
ui.url_sync("before", before, before_default)
ui.url_sync("after", after, after_default)
if before == after:
    st.info("Pick two different runs.")
    st.stop()
result = data_access.run_comparison(before, after)
st.caption(f"Everything below reads from before ({md(before)}) to after ({md(after)}): the "
           f"same diff as python pipeline/runs.py diff {md(before)} {md(after)}.")

# ----------------------------------------------------------------- summary
health_before, health_after = (data_access.run_health(before), data_access.run_health(after))
st.markdown(f"Health: **{health_before.status if health_before else 'unknown'}** → "
            f"**{health_after.status if health_after else 'unknown'}**")
changed = {"Findings changed": len(result.findings),
           "Parameters changed": sum(name not in ("health", "published")
                                     for name, _a, _b in result.params),
           "Tables with other row counts": len(result.row_counts),
           "Columns changed": len(result.schema or ()),
           "Contract outcomes changed": len(result.contracts),
           "dbt outcomes changed": len(result.dbt)}
cols = st.columns(3)
for index, (label, count) in enumerate(changed.items()):
    cols[index % 3].metric(label, f"{count:,}")

st.subheader("Findings (one per root cause)")
if result.findings:
    ui.table(pd.DataFrame(result.findings, columns=["finding", "before", "after"]),
             "compare_findings")
    st.caption("Findings present in only one of the runs, or of another severity there "
               "(\"-\" = not a finding of that run); each groups every check that reported "
               "the same root cause.")
else:
    st.success("Both runs have the same findings.")

st.subheader("Parameters")
ui.table(pd.DataFrame([(name, str(a), str(b)) for name, a, b in result.params],
                      columns=["parameter", "before", "after"]), "compare_params")
st.caption("The runs' health and publication, and every parameter whose value differs "
           "(unchanged ones are left out).")

st.subheader("PII key")
if None in result.pii_key:
    st.info("At least one of these runs recorded no PII key fingerprint (it ran before "
            "fingerprints were recorded, or its manifest is damaged).")
elif result.pii_key_change:
    st.warning("The PII key changed between these runs: their hashed emails and phones do "
               "not join (a deleted key file, or another CARTON_CAPS_PII_KEY).")
else:
    st.success("Both runs hashed emails and phones with the same PII key.")
ui.table(pd.DataFrame([[value or "-" for value in result.pii_key]],
                      columns=["before", "after"]), "compare_pii_key")
st.caption("The key's fingerprint (never the key) from each run's manifest.")

# ----------------------------------------------------------------- KPIs
st.subheader("Headline KPIs")
kpis = {}
for run in (before, after):
    path = data_access.snapshot_path(run)
    try:
        kpis[run] = data_access.headline_kpis(path) if run in data_access.successful_runs() \
            else None
    except (data_access.SnapshotUnreadable, *data_access.READ_ERRORS) as exc:
        st.warning(md(ui.unreadable_message((path,), exc), MESSAGE_CHARS))
        kpis[run] = None
if kpis[before] is None or kpis[after] is None:
    st.info("KPIs need both runs' published snapshots; at least one run has none.")
else:
    first, second = asdict(kpis[before]), asdict(kpis[after])
    spec = (("Users", "users", "{:,}", 0, "", True), ("DAU", "dau", "{:,}", 0, "", True),
            ("K-factor", "k_factor", "{:.3f}", 3, "", True),
            ("Dollars raised", "dollars_raised", "${:,.2f}", 2, "$", True),
            ("Reward liability", "reward_liability", "${:,.2f}", 2, "$", False),
            ("Expiring in 90 days", "expiring_90d", "${:,.2f}", 2, "$", False),
            ("Forecast, next 4 weeks", "forecast_4w", "${:,.2f}", 2, "$", None))
    for row_start in range(0, len(spec), 4):
        cols = st.columns(4)
        for col, (label, name, template, digits, prefix, good) in zip(
                cols, spec[row_start:row_start + 4], strict=False):
            value = second[name]
            findings = [*trust.affecting(data_access.KPI_RELATIONS[name], health_before),
                        *trust.affecting(data_access.KPI_RELATIONS[name], health_after)]
            change = health.kpi_delta(value, first[name], digits=digits, prefix=prefix,
                                      up_is_good=None if findings else good)
            with col:
                st.metric(label, "n/a" if value is None else template.format(value),
                          change.text, delta_color=change.color, delta_arrow=change.arrow)
                for finding in dict.fromkeys(findings):
                    trust.finding_link(finding, f"Caution: {md(finding.reason, MESSAGE_CHARS)} →")
    st.caption(f"Values of {md(after)}; the change is against {md(before)} (grey = no "
               "change, or a figure a finding of either run affects: its caution says why).")

# ----------------------------------------------------------------- row counts
st.subheader("Row counts")
if result.row_counts:
    ui.table(pd.DataFrame(result.row_counts,
                          columns=["table", "before", "after", "change", "change_pct"])
             .assign(change_pct=lambda frame: frame["change_pct"] / 100),
             "compare_row_counts")
    st.caption("Tables whose row count differs (raw and marts, from each run's manifest); "
               "change % is relative to the before run.")
else:
    st.success("Every raw and mart table has the same row count in both runs.")

# ----------------------------------------------------------------- schema
st.subheader("Schema")
if result.schema is None:
    st.info("No schema snapshot for " + " and ".join(map(md, result.schema_missing)) + ".")
elif not result.schema:
    st.success("The schemas are identical.")
else:
    ui.table(pd.DataFrame([asdict(change) for change in result.schema])
             .drop(columns=["layer"]), "compare_schema")
    st.caption("Tables or columns added or removed, types or nullability changed "
               "(logs/schema_<run_id>.json of each run).")

# ----------------------------------------------------------------- outcomes
st.subheader("Contract checks that changed outcome")
if result.contracts:
    ui.table(pd.DataFrame(result.contracts,
                          columns=["table", "column", "check", "before", "after"]),
             "compare_contracts")
else:
    st.success("Every contract check has the same outcome in both runs.")
st.subheader("dbt nodes that changed outcome")
if result.dbt:
    ui.table(pd.DataFrame(result.dbt, columns=["node", "before", "after"]), "compare_dbt")
else:
    st.success("Every dbt node has the same outcome in both runs.")
