"""Chart conventions every page shares: one palette, one number format per kind, human
axis titles, tooltips with units, legends in pipeline or funnel order.

Pages build figures only through these helpers (or style hand-built ones with
:func:`style_axis` and :data:`PALETTE`), so a convention changes in one place. Colours
are mid-tones readable on Streamlit's light and dark backgrounds: no black or white
series (the Plotly theme Streamlit applies switches the background, not the traces).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from foundation import metric_definitions
from pipeline.records.run_manifest import STEP_NAMES
from streamlit_app import formats
from streamlit_app.literal import chart_text, chart_values

#: Vega/Tableau 10 plus two: distinct qualitative hues (one per pipeline step), each
#: legible on white and on near-black
PALETTE: tuple[str, ...] = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2",
                            "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
                            "#1B9E77", "#7570B3")
#: a total or reference series drawn over coloured ones (grey: visible in both themes)
TOTAL_COLOR = "#8C8C8C"
STATUS_COLORS: dict[str, str] = {
    "PASS": "#54A24B", "pass": "#54A24B", "success": "#54A24B", "ok": "#54A24B",
    "healthy": "#54A24B", "warnings": "#F58518",
    "WARN": "#F58518", "warn": "#F58518", "FAIL": "#E45756", "fail": "#E45756",
    "error": "#E45756", "failed": "#E45756", "skipped": "#8C8C8C", "skip": "#8C8C8C",
    "interrupted": "#B279A2", "abandoned": "#B279A2", "running": "#4C78A8",
}
#: outcome order for legends and stacks: good first, worst last
STATUS_ORDER: tuple[str, ...] = ("PASS", "pass", "success", "ok", "healthy", "WARN", "warn",
                                 "warnings", "FAIL",
                                 "fail", "error", "failed", "interrupted", "abandoned",
                                 "skipped", "skip", "running")
#: the pipeline's steps in the order run_pipeline.py runs them (legends follow it)
PIPELINE_STEPS: tuple[str, ...] = STEP_NAMES


#: the number kinds and their one format each (streamlit_app/formats.py)
KINDS = formats.KINDS

#: column -> (human title, kind) of the operations pages' and derived columns (a mart
#: column's kind is the unit its dbt YAML declares); columns not listed are titled from
#: their name and, when not a mart column, shown as plain numbers
LABELS: dict[str, tuple[str, str]] = {
    "dau": ("Daily active users", "count"), "wau": ("Weekly active users", "count"),
    "mau": ("Monthly active users", "count"), "stickiness": ("Stickiness (DAU / MAU)", "share"),
    "activity_date": ("Activity date", ""), "activity_week": ("Activity week", ""),
    "install_week": ("Install week", ""), "signup_week": ("Sign-up week", ""),
    "sent_week": ("Invite sent week", ""), "balance_date": ("Balance date", ""),
    "month_start": ("Month", ""), "week_start": ("Week", ""), "started_at": ("Run started", ""),
    "run_id": ("Run", ""), "users": ("Users", "count"),
    "conversion_from_installed": ("Share of installs", "share"),
    "conversion": ("Invite → qualified conversion", "share"),
    "adoption_share": ("Share of weekly active users", "share"),
    "retention": ("Retention", "share"),
    "median_days_to_first_use": ("Median days to first use", "days"),
    "p75_days_to_first_use": ("75th percentile days to first use", "days"),
    "k_factor": ("K-factor", "ratio"), "invites_per_user": ("Invites per user (i)", "ratio"),
    "invite_conversion": ("Invite conversion (c)", "share"),
    "median_cycle_time_days": ("Median cycle time", "days"),
    "rejections": ("Rejected referrals", "count"), "rejection_reason": ("Reason", ""),
    "liability_dollars": ("Reward liability", "dollars"),
    "dollars_raised": ("Dollars raised", "dollars"),
    "earned_dollars": ("Earned", "dollars"), "expired_dollars": ("Expired", "dollars"),
    "redeemed_dollars": ("Redeemed", "dollars"), "school": ("School", ""),
    "school_name": ("School", ""), "duration_s": ("Duration", "seconds"),
    "execution_time_s": ("Execution time", "seconds"), "checks": ("Checks", "count"),
    "nodes": ("dbt nodes", "count"), "tables": ("Tables", "count"),
    "owner": ("Owner", ""), "resource_type": ("Node type", ""), "table_schema": ("Schema", ""),
    "stage": ("Stage", ""), "feature": ("Feature", ""), "name": ("Model", ""),
    "step": ("Step", ""), "age_hours": ("Age", "hours"),
    "failures": ("Failures", "count"), "findings": ("Findings", "count"), "rows": ("Rows", "count"),
    "row_count": ("Rows", "count"), "size": ("Tables", "count"),
    "ordinal_position": ("Position", "ordinal"), "users_count": ("Users", "count"),
    "seed": ("Seed", "id"), "columns": ("Columns", "count"), "ordinal": ("Position", "ordinal"),
    "raw_rows": ("Rows loaded into raw", "count"), "mart_rows": ("Rows built in marts", "count"),
    "dbt_pass": ("dbt pass", "count"), "dbt_warn": ("dbt warn", "count"),
    "dbt_error": ("dbt error", "count"), "contract_fail": ("Contract FAIL", "count"),
    "contract_warn": ("Contract WARN", "count"), "PASS": ("PASS", "count"),
    "WARN": ("WARN", "count"), "FAIL": ("FAIL", "count"),
}


def _mart_kinds() -> dict[str, str]:
    """Column -> the unit the marts declare for it, where every mart that has the column
    declares the same one (a column name with two units gets no entry: pass the kind)."""
    found: dict[str, set[str]] = {}
    for units in metric_definitions.COLUMN_UNITS.values():
        for column, unit in units.items():
            found.setdefault(column, set()).add(unit)
    return {column: next(iter(units)) for column, units in found.items() if len(units) == 1}


MART_KINDS: dict[str, str] = _mart_kinds()


def title_of(column: str) -> str:
    """The human axis or legend title of a column."""
    if column in LABELS:
        return LABELS[column][0]
    if "_" not in column:
        return column  # already a label (e.g. an ageing bucket "31–90 days")
    return column.replace("_", " ").strip().capitalize()


def kind_of(column: str) -> str:
    """The number kind of a column as declared (LABELS, else the marts' unit), else
    ``number``: a plain number, never guessed from the name."""
    if column in LABELS and LABELS[column][1]:
        return LABELS[column][1]
    return MART_KINDS.get(column, "number")


def format_value(value: Any, kind: str) -> str:
    """A number as the page shows it in text and metrics ("—" when missing)."""
    return formats.text(value, kind)


def hover(kind: str, axis: str = "y") -> str:
    """The tooltip value of an axis, with its unit and thousands separators."""
    return formats.hover(kind, axis)


def style_axis(figure: go.Figure, axis: str, title: str, kind: str = "",
               **update: Any) -> None:
    """Title an axis and, for a numeric kind, give its ticks the kind's format and unit."""
    settings: dict[str, Any] = {"title_text": title, **update}
    if kind in KINDS:
        settings |= formats.axis(kind)
    (figure.update_xaxes if axis == "x" else figure.update_yaxes)(**settings)


def style_axis_row(figure: go.Figure, row: int, title: str, kind: str) -> None:
    """:func:`style_axis` for the y axis of one row of a subplot figure."""
    figure.update_yaxes(title_text=title, row=row, col=1, **formats.axis(kind))


def ordered(names: Sequence[str], order: Sequence[str] | None) -> list[str]:
    """Series names in ``order`` first (pipeline or funnel order), then the rest sorted."""
    known = [name for name in (order or ()) if name in names]
    return known + sorted(name for name in names if name not in known)


def color_map(names: Sequence[str], colors: Mapping[str, str] | None = None) -> dict[str, str]:
    """A distinct palette colour per series, unless ``colors`` fixes it (e.g. status)."""
    picked: dict[str, str] = {}
    spare = iter(PALETTE * (len(names) // len(PALETTE) + 1))
    for name in names:
        picked[name] = (colors or {}).get(name) or next(spare)
    return picked


def _series(frame: pd.DataFrame, value: str | Sequence[str], color: str | None,
            order: Sequence[str] | None) -> list[tuple[str, pd.DataFrame, str]]:
    """(legend name, rows, value column) per series, in legend order."""
    if color is not None:
        assert isinstance(value, str)
        groups = {str(name): rows for name, rows in frame.groupby(color, sort=False)}
        return [(name, groups[name], value) for name in ordered(list(groups), order)]
    columns = [value] if isinstance(value, str) else list(value)
    return [(title_of(column), frame, column) for column in columns]


def _value_kind(value: str | Sequence[str], kind: str | None) -> str:
    return kind or kind_of(value if isinstance(value, str) else value[0])


def line_figure(frame: pd.DataFrame, x: str, y: str | Sequence[str], *,
                color: str | None = None, title: str = "", kind: str | None = None,
                y_title: str | None = None, stacked: bool = False,
                order: Sequence[str] | None = None,
                colors: Mapping[str, str] | None = None) -> go.Figure:
    """Lines (graph_objects: much cheaper than plotly.express on a page render)."""
    kind = _value_kind(y, kind)
    series = _series(frame, y, color, order)
    palette = color_map([name for name, _rows, _column in series], colors)
    figure = go.Figure()
    for name, rows, column in series:
        # a series of one point has no line to draw: show it as a marker
        mode = "lines+markers" if len(rows) == 1 else "lines"
        figure.add_scatter(x=rows[x], y=rows[column].astype(float), name=name, mode=mode,
                           line={"color": palette[name]},
                           stackgroup="one" if stacked else None,
                           hovertemplate=f"{chart_text(name)}: {hover(kind)}<extra></extra>")
    _finish(figure, title, x, y, color, kind, y_title)
    figure.update_layout(hovermode="x unified")
    if pd.api.types.is_datetime64_any_dtype(frame[x]):
        time_axis(figure, frame[x])
    values = pd.concat([rows[column] for _name, rows, column in series]).astype(float)
    if kind in NON_NEGATIVE and not values.empty and values.min() >= 0:
        figure.update_yaxes(rangemode="tozero")  # round ticks from zero, never 51.9, 52.0
    return figure


#: kinds whose axis starts at zero when no value is negative
NON_NEGATIVE = ("dollars", "share", "percent", "count", "days", "hours", "seconds")
#: the narrowest time span an axis shows: one run (or runs minutes apart) would otherwise
#: be drawn on an axis of milliseconds ("10:40:09.1955")
MIN_TIME_SPAN = pd.Timedelta(hours=12)


def time_axis(figure: go.Figure, moments: pd.Series) -> None:
    """A time axis readable for one run or many: at least :data:`MIN_TIME_SPAN` wide,
    centred on the data, hover in whole seconds."""
    values = pd.to_datetime(moments.dropna())
    settings: dict[str, Any] = {"hoverformat": "%Y-%m-%d %H:%M:%S"}
    if not values.empty and values.max() - values.min() < MIN_TIME_SPAN:
        middle = values.min() + (values.max() - values.min()) / 2
        settings["range"] = [middle - MIN_TIME_SPAN / 2, middle + MIN_TIME_SPAN / 2]
    figure.update_xaxes(**settings)


def bar_figure(frame: pd.DataFrame, x: str, y: str | Sequence[str], *,
               color: str | None = None, title: str = "", horizontal: bool = False,
               barmode: str = "stack", kind: str | None = None,
               value_title: str | None = None, order: Sequence[str] | None = None,
               colors: Mapping[str, str] | None = None) -> go.Figure:
    """Bars; ``horizontal`` puts the categories (``y``) on the vertical axis, top first."""
    value = x if horizontal else y
    category = y if horizontal else x
    kind = _value_kind(value, kind)
    series = _series(frame, value, color, order)
    palette = color_map([name for name, _rows, _column in series], colors)
    figure = go.Figure()
    for name, rows, column in series:
        values = rows[column].astype(float)
        where, axis = ("y", "x") if horizontal else ("x", "y")
        template = f"%{{{where}}}<br>{chart_text(name)}: {hover(kind, axis)}<extra></extra>"
        if horizontal:
            figure.add_bar(x=values, y=rows[category].astype(str), name=name, orientation="h",
                           marker_color=palette[name], hovertemplate=template)
        else:
            figure.add_bar(x=rows[category], y=values, name=name, marker_color=palette[name],
                           hovertemplate=template)
    figure.update_layout(barmode=barmode)
    if horizontal:
        labels = list(dict.fromkeys(frame[category].astype(str)))
        figure.update_yaxes(tickvals=labels, ticktext=short_labels(labels))
        _finish(figure, title, None, None, color, "", None)
        style_axis(figure, "x", value_title or _value_title(value), kind)
        style_axis(figure, "y", title_of(str(category)), autorange="reversed")
    else:
        _finish(figure, title, x, y, color, kind, value_title)
    return figure


#: characters of a category label on an axis (the full label is in the tooltip): long
#: school names would otherwise take most of a phone's width
LABEL_CHARS = 20


def short_label(label: str, limit: int = LABEL_CHARS) -> str:
    """A category label cut to ``limit`` characters with an ellipsis."""
    return label if len(label) <= limit else label[:limit - 1].rstrip() + "…"


def middle_label(label: str, limit: int = LABEL_CHARS) -> str:
    """A label cut in its middle (``mart_rewa…lity_daily``): names that share a prefix
    differ at their end."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head):]


def short_labels(labels: Sequence[str], limit: int = LABEL_CHARS) -> list[str]:
    """Each label cut at its end (school names read from the start), except those whose
    cut would be shown twice ("mart_reward_liabili…" for two marts): those are cut in the
    middle, so every category on the axis reads differently."""
    cut = [short_label(label, limit) for label in labels]
    seen = {text: cut.count(text) for text in cut}
    return [middle_label(label, limit) if seen[text] > 1 else text
            for label, text in zip(labels, cut, strict=True)]


def human(name: str) -> str:
    """A stored category (``first_accepted_receipt``) as a reader's label."""
    return name.replace("_", " ").strip().capitalize()


def _value_title(value: str | Sequence[str]) -> str:
    return title_of(value) if isinstance(value, str) else ""


def _finish(figure: go.Figure, title: str, x: str | None, y: str | Sequence[str] | None,
            color: str | None, kind: str, y_title: str | None) -> None:
    figure.update_layout(title=title, legend_title_text=title_of(color) if color else "",
                         legend_traceorder="normal")
    if x is not None:
        style_axis(figure, "x", title_of(x))
    if y is not None:
        style_axis(figure, "y", y_title or _value_title(y), kind)


def band_figure(frame: pd.DataFrame, *, title: str = "", kind: str = "count") -> go.Figure:
    """A monitored series day by day (``metric_date``, ``actual``) over its expected band
    (``lower`` to ``upper``) and expected value, its flagged days (``is_flagged``) marked."""
    figure = go.Figure()
    days = frame["metric_date"]
    figure.add_scatter(x=days, y=frame["upper"].astype(float), mode="lines",
                       line={"width": 0}, showlegend=False, hoverinfo="skip")
    figure.add_scatter(x=days, y=frame["lower"].astype(float), mode="lines",
                       line={"width": 0}, fill="tonexty", fillcolor="rgba(140,140,140,0.3)",
                       name="expected band", hovertemplate=f"band from {hover(kind)}"
                       "<extra></extra>")
    figure.add_scatter(x=days, y=frame["expected"].astype(float), mode="lines",
                       name="expected", line={"color": TOTAL_COLOR, "dash": "dash"},
                       hovertemplate=f"expected: {hover(kind)}<extra></extra>")
    figure.add_scatter(x=days, y=frame["actual"].astype(float), mode="lines+markers",
                       name="actual", line={"color": PALETTE[0]}, marker={"size": 4},
                       hovertemplate=f"actual: {hover(kind)}<extra></extra>")
    flagged = frame[frame["is_flagged"].fillna(False).astype(bool)]
    figure.add_scatter(x=flagged["metric_date"], y=flagged["actual"].astype(float),
                       mode="markers", name="flagged",
                       marker={"color": STATUS_COLORS["FAIL"], "size": 12, "symbol": "x"},
                       hovertemplate=f"flagged: {hover(kind)}<extra></extra>")
    figure.update_layout(title=title, hovermode="x unified")
    style_axis(figure, "x", "Day")
    style_axis(figure, "y", "Value", kind)
    return figure


def cohort_lines(figure: go.Figure, frame: pd.DataFrame, x: str, y: str, *,
                 complete: str = "is_cohort_complete", name: str | None = None,
                 color: str | None = None, order: Sequence[str] | None = None,
                 row: int | None = None, kind: str | None = None) -> None:
    """Cohort series where finished cohorts are solid lines with dots and cohorts whose
    window is still open are dotted with hollow markers, so they are not read as final."""
    kind = kind or kind_of(y)
    groups = ([(name or title_of(y), frame)] if color is None else
              [(key, frame[frame[color].astype(str) == key])
               for key in ordered([str(v) for v in frame[color].dropna().unique()], order)])
    palette = color_map([key for key, _rows in groups])
    where = {} if row is None else {"row": row, "col": 1}
    for key, rows in groups:
        done = rows[rows[complete].astype(bool)]
        open_ = rows[~rows[complete].astype(bool)]
        if not done.empty and not open_.empty:  # join the dotted tail to the last solid point
            open_ = pd.concat([done.tail(1), open_])
        figure.add_scatter(x=done[x], y=done[y].astype(float), name=key, legendgroup=key,
                           mode="lines+markers", line={"color": palette[key]},
                           marker={"size": 4},
                           hovertemplate=f"{chart_text(key)}: {hover(kind)}"
                                         "<extra>complete</extra>",
                           **where)
        figure.add_scatter(x=open_[x], y=open_[y].astype(float), name=f"{key} (incomplete)",
                           legendgroup=key, showlegend=False, mode="lines+markers",
                           line={"color": palette[key], "dash": "dot"},
                           marker={"size": 6, "symbol": "circle-open"},
                           hovertemplate=f"{chart_text(key)}: {hover(kind)}"
                                         "<extra>window still open</extra>",
                           **where)


def cohort_heatmap(frame: pd.DataFrame, *, row: str, column: str, value: str,
                   complete: str = "is_complete", title: str, x_title: str,
                   y_title: str) -> go.Figure:
    """A cohort grid where fully observed cells are coloured on one scale and cells still
    being observed are grey, so a partial week is not read as a drop in retention."""
    done = frame.pivot_table(index=row, columns=column, values=value, aggfunc="first")
    flags = frame.pivot_table(index=row, columns=column, values=complete, aggfunc="first")
    flags = flags.reindex(index=done.index, columns=done.columns)
    is_done = flags.fillna(False).astype(bool).to_numpy()
    values = done.to_numpy(dtype=float)
    x, y = list(done.columns), list(done.index)
    pct = hover("share", "z")
    figure = go.Figure()
    figure.add_heatmap(z=np.where(is_done, values, np.nan), x=x, y=y, name="complete",
                       colorscale="Blues", zmin=0, zmax=1,
                       colorbar={"title": {"text": title_of(value)}, "tickformat": ".0%"},
                       hovertemplate=f"{y_title} %{{y|%Y-%m-%d}}, {x_title.lower()} %{{x}}: "
                                     f"{pct}<extra>complete</extra>")
    figure.add_heatmap(z=np.where(is_done, np.nan, values), x=x, y=y, name="still open",
                       colorscale=[[0, "#D9D9D9"], [1, "#6E6E6E"]], zmin=0, zmax=1,
                       showscale=False,
                       hovertemplate=f"{y_title} %{{y|%Y-%m-%d}}, {x_title.lower()} %{{x}}: "
                                     f"{pct}<extra>still open</extra>")
    figure.update_layout(title=title)
    style_axis(figure, "x", x_title)
    style_axis(figure, "y", y_title)
    return figure


#: trace properties whose strings Plotly shows: legend names, categories, text, hover data
_TEXT_PROPERTIES = ("name", "x", "y", "text", "hovertext", "customdata", "labels")


def literal_figure(figure: go.Figure) -> go.Figure:
    """Show every string of the figure's data and titles literally (streamlit_app.literal).

    Categories and names come from manifests and snapshots (run ids, step names, dbt
    nodes, statuses), and Plotly reads ``<a href>`` markup in them; hover templates are
    the pages' own and keep their ``<br>`` (the helpers above escape the names they
    interpolate). Called once per figure, by ``ui.chart`` and the Lineage page.
    """
    for trace in figure.data:
        for prop in _TEXT_PROPERTIES:
            if prop in trace and trace[prop] is not None:
                trace[prop] = chart_values(trace[prop])

    def axis_texts(axis: Any) -> None:
        if axis.title.text is not None:
            axis.title.text = chart_text(axis.title.text)
        for prop in ("tickvals", "ticktext", "categoryarray"):  # tickvals match the data
            if axis[prop] is not None:
                axis[prop] = chart_values(axis[prop])

    figure.for_each_xaxis(axis_texts)
    figure.for_each_yaxis(axis_texts)
    layout = figure.layout
    if layout.title.text is not None:
        layout.title.text = chart_text(layout.title.text)
    if layout.legend.title.text is not None:
        layout.legend.title.text = chart_text(layout.legend.title.text)
    for annotation in layout.annotations:
        annotation.text = chart_text(annotation.text)
    return figure


HEATMAP_NOTE = ("Blue cells are fully observed; grey cells are weeks not yet over for every "
                "member of the cohort (their retention will still rise).")

COHORT_NOTE = ("Solid = complete cohorts; dotted with hollow markers = cohorts whose window "
               "is still open (their figures will still rise).")
