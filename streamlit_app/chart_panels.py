"""Figures that show a small signal beside a large one: outcomes per run with the few WARN
and FAIL on a scale of their own, and calendar months labelled by month with the partial
one marked.

Built from :mod:`streamlit_app.charts` conventions (palette, status colours, number
formats), so they read like every other chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from streamlit_app import charts
from streamlit_app.literal import chart_text

#: the outcomes drawn in the upper panel: a handful of them must not vanish beside the
#: thousands of passes drawn below
NOT_PASSING: tuple[str, ...] = ("WARN", "warn", "FAIL", "fail", "error")
PARTIAL = "partial"


def status_history(frame: pd.DataFrame, x: str, value: str, status: str, *,
                   title: str, x_title: str = "Run") -> go.Figure:
    """Counts per ``x`` by outcome in two panels sharing the x axis: WARN / FAIL (upper,
    own scale, each bar labelled with its count) and PASS and the rest (lower), each
    panel named by its y axis."""
    # each panel named by its y axis (a title above the upper panel would sit under the
    # legend, and a centred one ran past a phone's width)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           row_heights=[0.45, 0.55])
    names = charts.ordered([str(v) for v in frame[status].dropna().unique()],
                           charts.STATUS_ORDER)
    palette = charts.color_map(names, charts.STATUS_COLORS)
    categories = list(dict.fromkeys(frame[x].astype(str)))
    for name in names:
        rows = frame[frame[status].astype(str) == name]
        upper = name in NOT_PASSING
        figure.add_bar(x=rows[x].astype(str), y=rows[value].astype(float), name=name,
                       marker_color=palette[name], row=1 if upper else 2, col=1,
                       text=rows[value].astype(int).map("{:,}".format) if upper else None,
                       textposition="outside" if upper else None, cliponaxis=False,
                       hovertemplate=f"%{{x}}<br>{chart_text(name)}: "
                                     f"{charts.hover('count')}<extra></extra>")
    if not any(name in NOT_PASSING for name in names):
        figure.add_annotation(text="No WARN or FAIL in these runs", showarrow=False,
                              xref="x domain", yref="y domain", x=0.5, y=0.5, row=1, col=1)
    figure.update_layout(title=title, barmode="stack", legend_traceorder="normal",
                         legend_title_text="Outcome")
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=categories)
    figure.update_xaxes(title_text=x_title, row=2, col=1)
    charts.style_axis_row(figure, 1, "WARN / FAIL", "count")
    charts.style_axis_row(figure, 2, "PASS", "count")
    figure.update_yaxes(rangemode="tozero")
    return figure


def month_label(month: date, complete: bool = True) -> str:
    """A calendar month as the axis shows it: "Oct 2026", "Oct 2026 (partial)"."""
    return f"{month:%b %Y}" + ("" if complete else f" ({PARTIAL})")


def month_bars(frame: pd.DataFrame, month: str, values: Sequence[str], *, title: str,
               kind: str, complete: str | None = None, value_title: str = "") -> go.Figure:
    """Grouped bars per calendar month, labelled by month (not by a day of it); a month
    still in progress is hatched and labelled "(partial)" so it is not read as a drop."""
    done = (frame[complete].astype(bool) if complete and complete in frame.columns
            else pd.Series(True, index=frame.index))
    labels = [month_label(pd.Timestamp(m).date(), bool(c))
              for m, c in zip(frame[month], done, strict=True)]
    palette = charts.color_map([charts.title_of(v) for v in values])
    figure = go.Figure()
    for column in values:
        name = charts.title_of(column)
        figure.add_bar(x=labels, y=frame[column].astype(float), name=name,
                       marker_color=palette[name],
                       marker_pattern_shape=["" if c else "/" for c in done],
                       hovertemplate=f"%{{x}}<br>{chart_text(name)}: "
                                     f"{charts.hover(kind)}<extra></extra>")
    figure.update_layout(title=title, barmode="group", legend_traceorder="normal")
    figure.update_xaxes(type="category", title_text="Month")
    charts.style_axis(figure, "y", value_title, kind)
    return figure
