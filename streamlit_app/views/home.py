"""Home: a health board for the selected run (status qualified by every warning, each
linking to its page) and headline KPIs with deltas against the previous successful run."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from streamlit_app import data_access, health, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, md

st.title("Carton Caps Analytics")
run_id, snapshot = ui.require_snapshot()

manifests = data_access.run_manifests()
newest = manifests[-1] if manifests else {}
if newest and newest.get("run_id") != run_id:
    newest_status = data_access.run_status(newest)
    if newest_status == "running":
        st.info(f"Run {md(newest['run_id'])} is in progress "
                f"(step {md(data_access.last_step(newest) or '-')}); "
                f"its snapshot appears here once it is published.")
    elif newest_status == data_access.ABANDONED:
        st.warning(f"{md(data_access.abandoned_note(newest), MESSAGE_CHARS)} Showing the "
                   f"published snapshot of run {md(run_id)}.")
    elif newest_status != "success":
        st.error(f"The newest run {md(newest['run_id'])} {md(newest_status)} at step "
                 f"{md(newest.get('failed_step') or '-')}: "
                 f"{md(newest.get('error') or 'no error recorded', MESSAGE_CHARS)}"
                 f". Showing the published snapshot of run {md(run_id)}.")
manifest = data_access.run_manifest(run_id) or {}
if not manifest:
    # the served snapshot's record is damaged or gone: say so, never "first run" or UNKNOWN
    problem = data_access.manifest_problem(run_id)
    st.error(f"The record of run {md(run_id)} cannot be used: "
             f"{md(problem or 'logs/pipeline_' + run_id + '.json is missing', MESSAGE_CHARS)}. "
             "Its health, parameters and the change since the previous run are unknown; the "
             "figures below come from its snapshot. Check it with: python pipeline/runs.py "
             "verify.")

# ----------------------------------------------------------------- health
run_health = trust.selected_health()
if manifest and run_health is not None:
    trust.status_banner(run_health)
    trust.findings_list(run_health)
ui.report_download(run_id)
st.caption("Run id (copy with the button on the right):")
st.code(run_id, language=None)
if manifest:  # without its record, the error above says what is unknown
    finished = ui.parse_time(manifest.get("finished_at"))
    age_hours = None if finished is None else (datetime.now(UTC) - finished).total_seconds() / 3600
    duration = ui.number(manifest.get("duration_s"))
    status_cols = st.columns(2)
    status_cols[0].metric("Age", "-" if age_hours is None else f"{age_hours:,.1f} h")
    status_cols[1].metric("Duration", "-" if duration is None else f"{duration:,.1f} s")
    params = manifest.get("params")
    params = params if isinstance(params, dict) else {}
    users = params.get("users")
    users = f"{users:,}" if isinstance(users, int) else users or "-"
    st.caption(f"Run parameters: users {md(users)}, seed {md(params.get('seed', '-'))}, as of "
               f"{md(params.get('as_of', '-'))}, {md(params.get('days', '-'))} days of history, "
               f"built on {md(health.engine_label(manifest))}. Age = time since the run "
               "finished (UTC).")

# ----------------------------------------------------------------- KPIs
previous_id = data_access.previous_successful_run(run_id)
current = ui.load(data_access.headline_kpis, snapshot, caution=False)  # per tile below
if current is None:
    st.stop()
previous = None
if previous_id:
    try:
        previous = data_access.headline_kpis(data_access.snapshot_path(previous_id))
    except (data_access.SnapshotUnreadable, *data_access.READ_ERRORS) as exc:
        st.warning(f"No change shown: {md(exc, MESSAGE_CHARS)}")


def metric(column: st.delta_generator.DeltaGenerator, label: str, name: str, template: str,
           *, digits: int = 0, prefix: str = "", up_is_good: bool | None = True) -> None:
    """One KPI with its change since the previous successful run (grey at zero), and a
    caution under it when a finding affects what it is computed from: its change is then
    shown neutral, never as good or bad news."""
    value = getattr(current, name)
    before = None if previous is None else getattr(previous, name)
    findings = trust.affecting(data_access.KPI_RELATIONS[name], run_health)
    change = health.kpi_delta(value, before, digits=digits, prefix=prefix,
                              up_is_good=None if findings else up_is_good)
    with column:
        st.metric(label, "n/a" if value is None else template.format(value), change.text,
                  delta_color=change.color, delta_arrow=change.arrow)
        for finding in findings:
            trust.finding_link(finding, f"Caution: {md(finding.reason, MESSAGE_CHARS)} →")


st.subheader("Headline KPIs")
if all(getattr(current, name) is None for name in ("users", "dau", "dollars_raised",
                                                   "reward_liability", "expiring_90d",
                                                   "k_factor")):
    st.info(f"Snapshot {md(snapshot.name)} has no marts to compute KPIs from.")
row = st.columns(4)
metric(row[0], "Users", "users", "{:,}")
metric(row[1], "DAU", "dau", "{:,}")
metric(row[2], "K-factor", "k_factor", "{:.3f}", digits=3)
row = st.columns(4)
metric(row[0], "Dollars raised", "dollars_raised", "${:,.2f}", digits=2, prefix="$")
metric(row[1], "Reward liability", "reward_liability", "${:,.2f}", digits=2, prefix="$",
       up_is_good=False)
metric(row[2], "Expiring in 90 days", "expiring_90d", "${:,.2f}", digits=2, prefix="$",
       up_is_good=False)
metric(row[3], "Redemptions forecast, next 4 weeks", "forecast_4w", "${:,.2f}", digits=2,
       prefix="$", up_is_good=None)
first = "none: this is the first" if manifest else "unknown: this run has no usable record"
st.caption(
    "Change shown against the previous successful run "
    f"({md(previous_id) if previous_id else first}); green = better, "
    "red = worse, grey = no change or a figure a finding affects (its caution says why; "
    "a rising liability or expiring amount is worse)."
    + (f" DAU is for {current.dau_date}." if current.dau_date else "")
)
ui.page_link("finance", "Expiry outlook and redemption forecast on Finance →",
             icon=":material/payments:")
ui.page_link("compare", "Compare this run with any other →", icon=":material/compare_arrows:")
for key in ("users", "dau", "k_factor", "dollars_raised", "liability", "expiry_outlook",
            "forecast_totals"):
    ui.caption(key)
