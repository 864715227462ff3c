"""Home: the latest run's status and headline KPIs."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from streamlit_app import data_access

st.title("Carton Caps Analytics")
choice = data_access.resolve_latest()
if choice.note:
    st.warning(choice.note)
if choice.path is None:
    st.info("No snapshot yet. Run `make pipeline` to build the first one.")
    st.stop()

manifests = {doc["run_id"]: doc for doc in data_access.run_manifests()}
latest = manifests.get(choice.run_id, {})
finished = latest.get("finished_at")
age = (datetime.now(UTC) - datetime.fromisoformat(finished)) if finished else None
cols = st.columns(3)
cols[0].metric("Latest run", choice.run_id or "-")
cols[1].metric("Status", latest.get("status", "unknown"))
cols[2].metric("Duration", f"{latest.get('duration_s') or 0:.1f} s")
if age is not None:
    st.caption(f"Published {age.total_seconds() / 3600:.1f} hours ago.")

st.metric("Users", f"{data_access.headline_users(choice.path):,}")
st.caption("Users: every account in marts.dim_users (one row per app account).")
