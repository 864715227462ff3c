"""One number format per kind, everywhere: tables, metrics, captions, hover text and axes.

A kind is what a number measures, never guessed from a column's name (a name holding
``pct`` once made a MAPE of 26.1 read "2,611.74 %"): a mart column's kind is the unit its
dbt YAML declares (``metric_definitions.COLUMN_UNITS``, generated), an operations or
derived column's is declared in ``charts.LABELS``, and a page passes it for anything else.

The kinds and their one format each:

- ``dollars``: ``$1,234.57`` (axis ticks drop trailing zeros: ``$1,200``, ``$0.5``)
- ``share`` (a fraction 0-1) and ``percent`` (already in percent points): ``26.1%``, one
  decimal, the same for both (a share is multiplied by 100 first)
- ``count``: ``1,234``; ``ratio``: ``1.152``; ``days`` / ``hours`` / ``seconds``: one
  decimal and the unit (``12.5 days``, ``120.0 h``, ``52.3 s``)
- ``id`` / ``ordinal``: the plain integer (``1234``); ``number``: an undeclared number,
  shown plainly (``1,234.5``), never dressed as money or a percentage
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from foundation import metric_definitions

#: shown for a value that is missing or not observable yet (the reason goes beside it)
MISSING = "—"


@dataclass(frozen=True)
class Kind:
    """How one kind of number is shown.

    ``text``: Python format spec of a metric or sentence; ``hover`` and ``tick``: Plotly
    (d3) formats of a tooltip and an axis; ``table``: the Streamlit column format (printf
    or a Streamlit preset); ``scale``: what the value is multiplied by before a table or a
    percent-point text shows it (100 for a share).
    """

    text: str
    hover: str
    tick: str
    table: str
    prefix: str = ""
    suffix: str = ""
    tick_suffix: str = ""
    scale: float = 1.0


KINDS: dict[str, Kind] = {
    "dollars": Kind(",.2f", ",.2f", ",.2~f", "dollar", prefix="$"),
    "share": Kind(",.1f", ".1%", ".1~%", "%.1f%%", suffix="%", scale=100.0),
    "percent": Kind(",.1f", ",.1f", ",.1~f", "%.1f%%", suffix="%", tick_suffix="%"),
    "count": Kind(",.0f", ",.0f", ",", "localized"),
    "ratio": Kind(",.3f", ",.3f", ",", "%.3f"),
    "days": Kind(",.1f", ",.1f", ",", "%.1f", suffix=" days", tick_suffix=" d"),
    "hours": Kind(",.1f", ",.1f", ",", "%.1f", suffix=" h", tick_suffix=" h"),
    "seconds": Kind(",.1f", ",.1f", ",", "%.1f", suffix=" s", tick_suffix=" s"),
    "id": Kind("d", "d", "d", "%d"),
    "ordinal": Kind("d", "d", "d", "%d"),
    "number": Kind(",.6g", ",.6g", ",", "localized"),
}
#: the kinds whose value a table shows scaled (a share as percent points)
PERCENT_KINDS = ("share", "percent")


def kind(name: str) -> Kind:
    """The format of a kind; an unknown kind is refused (a typo must not pass as a count)."""
    if name not in KINDS:
        raise KeyError(f"unknown number kind {name!r} (one of {', '.join(KINDS)})")
    return KINDS[name]


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float | int) and math.isnan(value))
    except TypeError:
        return False


def text(value: Any, kind_name: str) -> str:
    """A number as a metric or a sentence shows it ("—" when missing)."""
    if is_missing(value):
        return MISSING
    spec = kind(kind_name)
    number = float(value) * spec.scale
    if kind_name in ("id", "ordinal"):
        return str(int(number))
    body = format(abs(number), spec.text) if spec.prefix else format(number, spec.text)
    sign = "-" if spec.prefix and number < 0 else ""
    return f"{sign}{spec.prefix}{body}{spec.suffix}"


def hover(kind_name: str, axis: str = "y") -> str:
    """A tooltip's value of ``axis`` with its unit and separators (Plotly template)."""
    spec = kind(kind_name)
    suffix = "" if kind_name == "share" else spec.suffix
    return f"{spec.prefix}%{{{axis}:{spec.hover}}}{suffix}"


def axis(kind_name: str) -> dict[str, Any]:
    """Plotly axis settings of a kind: tick format, prefix and suffix, hover format."""
    spec = kind(kind_name)
    return {"tickformat": spec.tick, "tickprefix": spec.prefix,
            "ticksuffix": spec.tick_suffix, "hoverformat": spec.hover}


def column_units(name: str | None) -> Mapping[str, str]:
    """The declared unit of each numeric column of mart ``name`` (empty when not a mart)."""
    return metric_definitions.COLUMN_UNITS.get(name or "", {})


def table_frame(frame: pd.DataFrame, units: Mapping[str, str]) -> tuple[pd.DataFrame,
                                                                        dict[str, Any]]:
    """The frame a table shows and its column formats: every numeric column in ``units``
    formatted by its kind (a share scaled to percent points), dates that only hold
    midnights as plain dates. The caller keeps ``frame`` itself for the CSV download."""
    shown = frame.copy()
    config: dict[str, Any] = {}
    for column in frame.columns:
        name = str(column)
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.dropna()
            if (values == values.dt.normalize()).all():
                config[name] = st.column_config.DateColumn(format="YYYY-MM-DD")
            continue
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        spec = kind(units.get(name, "number"))
        if spec.scale != 1.0:
            shown[column] = series.astype("Float64") * spec.scale
        config[name] = st.column_config.NumberColumn(format=spec.table)
    return shown, config
