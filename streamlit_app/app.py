"""Carton Caps dashboards: `python -m streamlit_app` (or `streamlit run streamlit_app/app.py`).

This file only wires navigation and the run picker. The pointer is resolved on every
rerun, so a run published while the app is open shows up without a restart; the picked
run is shared with every page through ``st.session_state`` and named in the URL
(``?run=<run_id>``, also when it is the latest), so a reload or a shared link shows the
same run even after a newer one is published.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from foundation.run_id import RUN_ID_PATTERN
from streamlit_app import data_access, serving, trust, ui
from streamlit_app.literal import MESSAGE_CHARS, cut, md

PAGES = Path(__file__).parent / "views"
#: unusable manifests named in the sidebar (runs.py verify --all lists every one)
SKIPPED_SHOWN = 3


def pick_run() -> None:
    """Sidebar run selector: follow the pointer by default, or pin an earlier snapshot."""
    latest = data_access.resolve_latest()
    runs = data_access.successful_runs()
    options = [ui.LATEST, *[run for run in runs if run != latest.run_id]]
    linked = st.query_params.get(ui.RUN_PARAM)
    if linked and not RUN_ID_PATTERN.fullmatch(linked):
        # anyone can craft a link: an id the CLI would refuse is named only cut and escaped
        st.sidebar.warning(f"The link names run {md(linked)}, which is not a run id (1-64 "
                           "letters, digits, _ or -); showing the latest run.")
        linked = None
    if ui.RUN_KEY not in st.session_state and linked:
        # a shared link or a reload: the URL names the run (the pointer's run means latest)
        st.session_state[ui.RUN_KEY] = ui.LATEST if linked == latest.run_id else linked
    if st.session_state.get(ui.RUN_KEY) not in options:
        if linked and linked not in options and linked != latest.run_id:
            st.sidebar.warning(f"Run {md(linked)} from the link has no published snapshot "
                               "here; showing the latest run.")
        st.session_state[ui.RUN_KEY] = ui.LATEST

    def label(option: str) -> str:
        if option == ui.LATEST:
            if latest.run_id:
                return f"Latest: {cut(latest.run_id)}"
            return "Latest (pointer unreadable)" if latest.note else "Latest (no snapshot yet)"
        return cut(option)  # option labels are plain text, but a manifest's id is unbounded

    picked = st.sidebar.selectbox("Run", options, format_func=label, key=ui.RUN_KEY,
                                  help="Snapshots of successful runs, newest first.")
    if picked == ui.LATEST:
        choice = latest
    else:
        try:
            choice = data_access.SnapshotChoice(picked, data_access.snapshot_path(picked))
        except data_access.SnapshotUnreadable as exc:  # the archive's copy was refused
            st.sidebar.error(md(exc, MESSAGE_CHARS))
            choice = latest
    st.session_state[ui.CHOICE_KEY] = choice
    trust.remember_health(choice.run_id)
    # the URL names the run shown (latest included), so a link keeps showing that run
    ui.url_sync(ui.RUN_PARAM, choice.run_id)
    if latest.note and latest.run_id:  # without a fallback the page itself says why
        st.sidebar.warning(md(latest.note, MESSAGE_CHARS))
    problems = data_access.manifest_problems()
    if problems:
        shown = "; ".join(md(problem, MESSAGE_CHARS) for problem in problems[:SKIPPED_SHOWN])
        hidden = len(problems) - SKIPPED_SHOWN
        more = f" (and {hidden} more)" if hidden > 0 else ""
        st.sidebar.warning(f"{len(problems)} run record(s) skipped: {shown}{more}. Check them "
                           "with: python pipeline/runs.py verify --all.")
    if choice.run_id and choice.path:
        st.sidebar.caption(f"Snapshot: {md(choice.path.name)}")
        changed = data_access.snapshot_changed_note(choice.run_id, choice.path)
        if changed:
            st.sidebar.warning(md(changed, MESSAGE_CHARS))


st.set_page_config(page_title="Carton Caps Analytics", layout="wide")
# long link labels wrap instead of being cut (a style sheet only: nothing is drawn)
st.html(Path(__file__).with_name("layout.css"))
serving.refuse_unless_allowed()  # before any file of the home is read
sections: dict[str, list[st.Page]] = {}
for section, file_name, title, url_path in ui.PAGE_SPECS:
    sections.setdefault(section, []).append(
        st.Page(PAGES / file_name, title=title, url_path=ui.page_url_path(url_path),
                default=url_path == ui.DEFAULT_PAGE)
    )
with data_access.render_scope():
    pick_run()
    navigation = st.navigation(sections)
    navigation.run()
