"""Layout helpers every page shares: the selected run, captions, tables, filters, messages.

Nothing here reads a mart: pages reach data only through ``data_access`` functions, so the
exposure test can see exactly which marts each page reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from foundation import metric_definitions
from streamlit_app import charts, data_access, formats, periods, trust
from streamlit_app.literal import MESSAGE_CHARS, md
from streamlit_app.navigation import (  # noqa: F401 - pages reach navigation through ui
    DEFAULT_PAGE,
    PAGE_SPECS,
    PAGES,
    RUN_PARAM,
    page_link,
    page_url_path,
)

T = TypeVar("T")

#: ``st.session_state`` key holding the run the user picked (``LATEST`` = follow the pointer)
RUN_KEY = "selected_run"
LATEST = "__latest__"
#: ``st.session_state`` key app.py fills with the resolved SnapshotChoice on every rerun
CHOICE_KEY = "snapshot_choice"

NO_SNAPSHOT = "No snapshot yet. Run `make pipeline` to build the first one."
NO_OTHER_SNAPSHOT = "No other snapshot to show: run `make pipeline` to build one."
#: how a missing value (text or number) shows in every table; the CSV keeps blanks
MISSING = formats.MISSING

#: one-line captions of the operations pages' charts (run records, not dbt metrics)
OPERATIONS_CAPTIONS: dict[str, str] = {
    "run_duration": "Run duration: seconds from the run's start to its final manifest write.",
    "step_durations": "Step duration: seconds each pipeline step took in a run (from the "
                      "run's manifest), steps in the order the pipeline runs them.",
    "contract_status": "Contract checks: each check's measured value against its threshold; "
                       "FAIL of a fail-severity check fails the run, WARN is reported only.",
    "contract_history": "Contract check outcomes per run (PASS / WARN / FAIL counts).",
    "dbt_status": "dbt nodes of the run by status (models, tests, unit tests, seeds).",
    "dbt_slowest": "Slowest dbt models: execution time in seconds in this run.",
    "schema_tables": "Tables per schema in this snapshot (raw, staging, intermediate, "
                     "marts, ops), from logs/schema_<run_id>.json.",
    "metric_band": "A monitored metric day by day (event time) with the band it was judged "
                   "against (trained on the 12 weeks before each 7-day block, weekday and "
                   "trend aware; dbt_carton_caps/monitoring_settings.yml); a cross marks a "
                   "flagged day.",
    "freshness": "Source freshness: age of the newest _ingested_at per source table at "
                 "the time of the run, against its warn/error thresholds.",
}

#: the one-line definition shown under every chart: each metric's as the dbt YAML states it
#: (``metric_definitions.py`` is generated from it; docs/design.md#metric-definitions), and
#: the operations pages' own
DEFINITIONS: dict[str, str] = {**metric_definitions.CAPTIONS, **OPERATIONS_CAPTIONS}


def caption(key: str) -> None:
    st.caption(DEFINITIONS[key])


def selected_choice() -> data_access.SnapshotChoice:
    """The snapshot app.py resolved for this rerun (resolving it here if run standalone)."""
    choice = st.session_state.get(CHOICE_KEY)
    if choice is None:
        choice = data_access.resolve_latest()
    return choice


def require_snapshot() -> tuple[str, Path]:
    """The selected run id and snapshot file; a clear message and stop when there is none."""
    choice = selected_choice()
    if choice.path is None or choice.run_id is None:
        if choice.note and choice.archive:  # the archive's problem: nothing verified to show
            st.error(f"Cannot serve from the archive {md(choice.archive)}: "
                     f"{md(choice.note, MESSAGE_CHARS)}. No copy verified earlier is in "
                     "the cache.")
        elif choice.note:  # one message: the pointer's problem is why there is nothing to show
            st.error(f"Cannot read the pointer: {md(choice.note, MESSAGE_CHARS)}. "
                     f"{NO_OTHER_SNAPSHOT}")
        else:
            st.info(NO_SNAPSHOT)
        st.stop()
    if choice.note:
        st.warning(md(choice.note, MESSAGE_CHARS))
    if not choice.path.is_file():
        st.error(f"Snapshot {md(choice.path.name)} no longer exists on disk.")
        st.stop()
    try:
        data_access.check_snapshot(choice.path)
    except data_access.SnapshotUnreadable as exc:
        st.error(md(exc, MESSAGE_CHARS))
        st.stop()
    return choice.run_id, choice.path


def unreadable_message(args: Sequence[Any], exc: BaseException) -> str:
    """The error shown when a snapshot fails while being read, naming the snapshot."""
    if isinstance(exc, data_access.SnapshotUnreadable):
        return str(exc)
    snapshot = next((arg for arg in args if isinstance(arg, Path)), None)
    if snapshot is None:
        snapshot = selected_choice().path or Path("(none)")
    return str(data_access.SnapshotUnreadable(snapshot, exc))


def load(function: Callable[..., T], *args: Any, what: str | None = None,
         caution: bool = True) -> T | None:
    """Call a data-access function; show a message instead of a traceback when data is absent.

    Returns None (after an ``st.info``) when the table is missing from the snapshot or the
    result is an empty frame, and (after an ``st.error`` naming the snapshot) when the
    snapshot was deleted or is corrupt. When one of the run's findings affects a relation
    the function reads, a caution with its reason comes first (:func:`trust.caution`),
    unless ``caution`` is False: a caller showing several figures says it per figure.
    """
    try:
        result = function(*args)
    except data_access.DataUnavailable as exc:
        st.info(md(exc, MESSAGE_CHARS))
        return None
    except (data_access.SnapshotUnreadable, *data_access.READ_ERRORS) as exc:
        st.error(md(unreadable_message(args, exc), MESSAGE_CHARS))
        return None
    reads = data_access.READS.get(function.__name__, ())
    if caution:  # a figure read from a relation a finding affects says so (trust.py)
        trust.caution(reads)
    if isinstance(result, pd.DataFrame) and result.empty:
        tables = ", ".join(sorted(reads)) or what
        st.info(f"No rows in {tables or 'this table'} for the selected run and filters.")
        return None
    return result


#: Plotly config for geo charts: topojson served by the app itself (static/), not a CDN
GEO_CONFIG = {"topojsonURL": "/app/static/"}


def chart(figure: go.Figure, definition: str, key: str | None = None,
          config: dict[str, Any] | None = None) -> None:
    """A Plotly chart with its one-line metric definition underneath (its data and titles
    shown literally: they may hold run ids and names read from files).

    The figure's title is shown above it as text, which wraps at any width (a Plotly title
    never wraps: at 390 px it was cut off), and the legend sits in a row above the plot
    so a phone keeps the plot's full width.
    """
    title = figure.layout.title.text
    if title:
        st.markdown(f"**{md(title, MESSAGE_CHARS)}**")
        figure.update_layout(title_text=None)
    charts.literal_figure(figure)
    figure.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         hoverlabel={"namelength": -1}, separators=".,",
                         legend={"orientation": "h", "yanchor": "bottom", "y": 1.02,
                                 "xanchor": "left", "x": 0, "title_side": "top left"})
    st.plotly_chart(figure, key=key, config=config)
    caption(definition)


def table(frame: pd.DataFrame, name: str, run_id: str | None = None,
          definition: str | None = None, units: Mapping[str, str] | None = None) -> None:
    """A dataframe with a CSV download button (file named after the table and run).

    Every number is shown by its declared kind (:func:`table_units`); the CSV keeps the
    stored values.
    """
    shown, config = formats.table_frame(frame, table_units(frame, name, units))
    st.dataframe(shown, hide_index=True, column_config=config, placeholder=MISSING)
    suffix = f"_{run_id}" if run_id else ""
    st.download_button(
        "Download CSV", frame.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}{suffix}.csv", mime="text/csv", key=f"csv_{name}",
        on_click="ignore",
    )
    if definition:
        caption(definition)


def table_units(frame: pd.DataFrame, name: str,
                units: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kind of every numeric column of a table: the page's ``units`` first, then the
    unit the mart ``name`` declares in the dbt YAML, then the declared kind of an
    operations column (``charts.LABELS``); an identifier (``<entity>_id``, the project's
    naming rule) is an ``id``; anything else a plain ``number``."""
    declared = formats.column_units(name)
    kinds: dict[str, str] = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        column = str(column)
        if units and column in units:
            kinds[column] = units[column]
        elif column in declared:
            kinds[column] = declared[column]
        elif column.endswith("_id"):
            kinds[column] = "id"
        else:
            kinds[column] = charts.kind_of(column)
    return kinds


def date_range(snapshot: Path, bounds_key: str, label: str = "Period",
               key: str | None = None, default: str = periods.DEFAULT_PRESET,
               ) -> tuple[date | None, date | None]:
    """A period preset (``default``: the last 13 weeks, past the launch ramp, unless a
    section needs more) over the mart's dates, with a custom range on demand; (None, None)
    when the mart has no dates.

    The preset is kept in the URL under ``bounds_key`` so a shared link shows the same period.
    """
    try:
        bounds = data_access.date_bounds(snapshot, bounds_key)
    except (data_access.DataUnavailable, data_access.SnapshotUnreadable,
            *data_access.READ_ERRORS):
        return None, None  # the page's load() of the same table says what is wrong
    if bounds is None:
        return None, None
    low, high = bounds
    widget = key or f"dates_{bounds_key}"
    url_choice(f"{widget}_preset", bounds_key, periods.PRESETS, default)
    preset = st.selectbox(label, periods.PRESETS, key=f"{widget}_preset",
                          help=f"Data from {low:%Y-%m-%d} to {high:%Y-%m-%d}; presets end on "
                               "the last date with data.")
    url_sync(bounds_key, preset, default)
    if preset != periods.CUSTOM:
        return periods.preset_range(preset, low, high)
    picked = st.date_input("From – to", value=(low, high), min_value=low, max_value=high,
                           key=widget)
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return picked[0], picked[1]
    if isinstance(picked, tuple | list) and len(picked) == 1:
        return picked[0], picked[0]
    if isinstance(picked, date):
        return picked, picked
    return low, high


def url_default(widget_key: str, param: str, allowed: Sequence[str] | None = None,
                many: bool = False) -> None:
    """Seed a widget from the URL's ``param`` the first time this session renders it."""
    if widget_key in st.session_state or param not in st.query_params:
        return
    if many:
        values = [v for v in st.query_params[param].split(",") if v]
        if allowed is not None:
            values = [v for v in values if v in allowed]
        st.session_state[widget_key] = values
    elif allowed is None or st.query_params[param] in allowed:
        st.session_state[widget_key] = st.query_params[param]


def url_choice(widget_key: str, param: str, options: Sequence[str], default: str) -> None:
    """Give a select widget its value before it is drawn: the one picked while it is still
    an option, else the URL's ``param`` when it is an option (a shared link), else
    ``default``.

    The widget is then created without ``index``: a widget given both a default and a value
    through Session State makes Streamlit log a warning with a stack (a Compare link did).
    """
    if st.session_state.get(widget_key) in options:
        return
    linked = st.query_params.get(param)
    st.session_state[widget_key] = linked if linked in options else default


def url_sync(param: str, value: Any, default: Any = None) -> None:
    """Keep the URL's ``param`` equal to a widget's value (absent when it is the default)."""
    text = ",".join(map(str, value)) if isinstance(value, list | tuple) else value
    if value is None or value == default or text in ("", None):
        st.query_params.pop(param, None)
    elif st.query_params.get(param) != str(text):
        st.query_params[param] = str(text)


def empty_filter(what: str) -> None:
    """The sentence shown instead of an empty chart or table when filters leave no rows."""
    st.info(f"No {what} match the filters above. Clear a filter to see more.")


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 manifest timestamp as an aware UTC datetime; None if absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def number(value: Any) -> float | None:
    """A manifest number (duration, count) as a float; None if absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def report_download(run_id: str) -> None:
    """Offer the run's one-file HTML report (it opens offline: a file to send or attach),
    or say how to write it when the run has none."""
    report = data_access.run_report(run_id)
    if report is None:
        st.caption(f"Run {md(run_id)} has no report file; write it with: python "
                   f"pipeline/runs.py report {md(run_id)}")
        return
    st.download_button("Download the run report (one HTML file, opens offline)", report,
                       file_name=f"report_{run_id}.html", mime="text/html",
                       key=f"report_{run_id}", icon=":material/download:")


def ops_note(missing: str) -> None:
    st.info(f"{missing} This snapshot was built before that part of the pipeline existed.")
