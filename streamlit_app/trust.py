"""Trust on screen: every figure knows the health of its inputs, every finding has a page.

The pipeline records a run's health once (``pipeline/checks/health.py``): findings by
root cause, each with the relations and pages it affects downstream. Here the pages use
it:

* :func:`caution` shows, above any figure read from an affected relation, one line per
  finding with its reason and a link to its explanation (``ui.load`` calls it for every
  data-access function, which declares the relations it reads);
* :func:`affected` tells a KPI tile whether its delta may be coloured at all;
* :func:`focus` opens, at the top of the page a finding's link lands on, that finding
  with its evidence, its consequences and what it affects, expanded: no scrolling.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from pipeline.checks.health import Finding, RunHealth
from streamlit_app import data_access
from streamlit_app.literal import ID_CHARS, MESSAGE_CHARS, md
from streamlit_app.navigation import page_link

#: the URL parameter naming the finding a page opens on
FINDING_PARAM = "finding"
#: the key app.py stores the selected run's health under, once per rerun
HEALTH_KEY = "selected_run_health"
SEVERITY_ICONS = {"error": ":material/error:", "warning": ":material/warning:",
                  "info": ":material/info:"}
STATUS_BANNERS = {"healthy": st.success, "warnings": st.warning, "failed": st.error}


def selected_health() -> RunHealth | None:
    """The health of the run the user picked (None when it has no record)."""
    if HEALTH_KEY in st.session_state:
        return st.session_state[HEALTH_KEY]
    choice = st.session_state.get("snapshot_choice")
    run_id = getattr(choice, "run_id", None)
    return data_access.run_health(run_id) if run_id else None


def remember_health(run_id: str | None) -> None:
    """app.py: resolve the picked run's health once for the whole rerun."""
    st.session_state[HEALTH_KEY] = data_access.run_health(run_id) if run_id else None


def affecting(relations: Iterable[str], health: RunHealth | None = None) -> tuple[Finding, ...]:
    """The selected run's findings whose downstream includes any of ``relations``."""
    health = health if health is not None else selected_health()
    return () if health is None else health.affecting(relations)


def affected(relations: Iterable[str]) -> bool:
    return bool(affecting(relations))


def finding_link(finding: Finding, label: str | None = None) -> None:
    """A link to the page that explains ``finding``, opening on it."""
    page_link(finding.page, label or f"{md(finding.title, MESSAGE_CHARS)} →",
              icon=SEVERITY_ICONS[finding.severity],
              params={FINDING_PARAM: finding.finding_id})


def caution(relations: Iterable[str]) -> tuple[Finding, ...]:
    """One caution line per finding that affects ``relations``: its reason and a link."""
    findings = affecting(relations)
    for finding in findings:
        finding_link(finding, f"Caution: {md(finding.reason, MESSAGE_CHARS)} →")
    return findings


def status_banner(health: RunHealth) -> None:
    """The run's one status, large, with its counts."""
    counts = health.counts()
    found = len(health.findings)
    detail = ("no findings" if not found else
              f"{found} finding{'' if found == 1 else 's'} "
              f"({counts['error']} error, {counts['warning']} warning, {counts['info']} info)")
    # bold, not a heading: a banner shows only plain text and emphasis (literal.py)
    STATUS_BANNERS[health.status](f"**Run health: {health.status}**\n\n{detail}, one per "
                                  "root cause")


def findings_list(health: RunHealth) -> None:
    """Every finding, worst first, each linking to its explanation."""
    for finding in health.findings:
        owner = f" (owner: {md(finding.owner, ID_CHARS)})" if finding.owner else ""
        finding_link(finding, f"{md(finding.title, MESSAGE_CHARS)}{owner} →")
    if health.faults:
        st.caption("Faults injected on purpose in this run (--faults): "
                   f"{md(', '.join(health.faults), MESSAGE_CHARS)}. The findings above are "
                   "what the checks caught.")


def _signals_frame(finding: Finding) -> pd.DataFrame:
    rows = [{"role": role, "check": s.kind, "what": s.text, "measured": s.measured,
             "expected": s.threshold, "severity": s.severity}
            for role, signals in (("evidence", finding.evidence),
                                  ("consequence", finding.consequences))
            for s in signals]
    return pd.DataFrame(rows, columns=["role", "check", "what", "measured", "expected",
                                       "severity"])


def focus(page: str) -> Finding | None:
    """The finding the URL names, shown at the top of ``page`` with its details expanded;
    None when the URL names none (or one of another page or run)."""
    wanted = st.query_params.get(FINDING_PARAM)
    health = selected_health()
    if not wanted or health is None:
        return None
    finding = next((f for f in health.findings if f.finding_id == wanted), None)
    if finding is None:
        st.info(f"The link names finding {md(wanted)}, which the selected run does not have.")
        return None
    box = {"error": st.error, "warning": st.warning, "info": st.info}[finding.severity]
    box(f"**{md(finding.title, MESSAGE_CHARS)}**  \n{md(finding.reason, MESSAGE_CHARS)}")
    with st.expander("What this finding rests on, and what it affects", expanded=True):
        owner = md(finding.owner, ID_CHARS) if finding.owner else "not declared"
        st.markdown(f"Severity **{finding.severity}**, owner **{owner}**, about "
                    f"{md(finding.subject_label)}.")
        st.dataframe(_signals_frame(finding), hide_index=True, width="stretch")
        affected_here = [r for r in finding.impacted if not r.startswith("exposure:")]
        pages = [r.removeprefix("exposure:") for r in finding.impacted
                 if r.startswith("exposure:")]
        st.caption(f"Affects {len(affected_here)} table(s) downstream"
                   + (f" and {len(pages)} page(s): {md(', '.join(pages), MESSAGE_CHARS)}"
                      if pages else "") + ".")
    if finding.page != page:
        page_link(finding.page, "Where this finding is explained →")
    return finding
