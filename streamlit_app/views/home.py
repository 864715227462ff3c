"""Home: the selected run's status, age and duration; headline KPIs vs the previous run."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from streamlit_app import data_access, ui

st.title("Carton Caps Analytics")
run_id, snapshot = ui.require_snapshot()

manifests = data_access.run_manifests()
newest = manifests[-1] if manifests else {}
if newest and newest.get("run_id") != run_id:
    newest_status = data_access.run_status(newest)
    if newest_status == "running":
        st.info(f"Run {newest['run_id']} is in progress "
                f"(step {data_access.last_step(newest) or '-'}); "
                f"its snapshot appears here once it is published.")
    elif newest_status == data_access.ABANDONED:
        st.warning(f"{data_access.abandoned_note(newest)} Showing the published snapshot of "
                   f"run {run_id}.")
    elif newest_status != "success":
        st.error(f"The newest run {newest['run_id']} {newest_status} at step "
                 f"{newest.get('failed_step') or '-'}: {newest.get('error') or 'no error recorded'}"
                 f". Showing the published snapshot of run {run_id}.")
manifest = data_access.run_manifest(run_id) or {}
finished = ui.parse_time(manifest.get("finished_at"))
age_hours = None if finished is None else (datetime.now(UTC) - finished).total_seconds() / 3600
duration = ui.number(manifest.get("duration_s"))
status_cols = st.columns(4)
status_cols[0].metric("Run", run_id)
status_cols[1].metric("Status", str(data_access.run_status(manifest) or "unknown").upper())
status_cols[2].metric("Age", "-" if age_hours is None else f"{age_hours:.1f} h")
status_cols[3].metric("Duration", "-" if duration is None else f"{duration:.1f} s")
params = manifest.get("params")
params = params if isinstance(params, dict) else {}
st.caption(
    f"Run parameters: users {params.get('users', '-')}, seed {params.get('seed', '-')}, "
    f"as of {params.get('as_of', '-')}. Age = time since the run finished (UTC)."
)

previous_id = data_access.previous_successful_run(run_id)
current = ui.load(data_access.headline_kpis, snapshot)
if current is None:
    st.stop()
previous = None
if previous_id:
    try:
        previous = data_access.headline_kpis(data_access.snapshot_path(previous_id))
    except (data_access.SnapshotUnreadable, *data_access.READ_ERRORS) as exc:
        st.warning(f"No change shown: {exc}")


def delta(name: str, digits: int = 0) -> str | None:
    """Change since the previous successful run, formatted like the value."""
    if previous is None:
        return None
    now, before = getattr(current, name), getattr(previous, name)
    if now is None or before is None:
        return None
    change = now - before
    return f"{change:+,.{digits}f}"


def shown(value: float | int | None, template: str) -> str:
    return "n/a" if value is None else template.format(value)


st.subheader("Headline KPIs")
if all(getattr(current, name) is None for name in ("users", "dau", "dollars_raised",
                                                   "reward_liability", "expiring_90d",
                                                   "k_factor")):
    st.info(f"Snapshot {snapshot.name} has no marts to compute KPIs from.")
cols = st.columns(6)
cols[0].metric("Users", shown(current.users, "{:,}"), delta("users"))
cols[1].metric("DAU", shown(current.dau, "{:,}"), delta("dau"))
cols[2].metric("Dollars raised", shown(current.dollars_raised, "${:,.2f}"),
               delta("dollars_raised", 2))
cols[3].metric("Reward liability", shown(current.reward_liability, "${:,.2f}"),
               delta("reward_liability", 2), delta_color="inverse")
cols[4].metric("Expiring in 90 days", shown(current.expiring_90d, "${:,.2f}"),
               delta("expiring_90d", 2), delta_color="inverse")
cols[5].metric("K-factor", shown(current.k_factor, "{:.3f}"), delta("k_factor", 3))
st.caption(
    "Change shown against the previous successful run "
    f"({previous_id or 'none: this is the first'})."
    + (f" DAU is for {current.dau_date}." if current.dau_date else "")
)
for key in ("users", "dau", "dollars_raised", "liability", "expiry_outlook", "k_factor"):
    ui.caption(key)
