"""How a headline figure's change and a run's engine are shown (pure, unit-tested).

A change is grey at zero and coloured by whether it is good news; a change computed on
data a finding affects is passed ``up_is_good=None`` by its page and stays neutral
(``streamlit_app/trust.py`` says why beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


def _dict(value: Any) -> dict[str, Any]:
    """A manifest section, or {} when it is missing or malformed."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Delta:
    """A KPI change as ``st.metric`` takes it: text, colour rule and arrow."""

    text: str | None
    color: Literal["normal", "inverse", "off"]
    arrow: Literal["auto", "off"]


def kpi_delta(now: float | None, before: float | None, *, digits: int = 0,
              prefix: str = "", up_is_good: bool | None = True,
              percent: bool = False) -> Delta:
    """The change ``now - before``: grey with no arrow at zero; green when it moves the
    good way (``up_is_good=False`` for liability, None for neutral metrics)."""
    if now is None or before is None:
        return Delta(None, "off", "off")
    change = now - before
    scale = 100 if percent else 1
    text = f"{change * scale:+,.{digits}f}{' pp' if percent else ''}"
    if prefix:
        text = text[0] + prefix + text[1:]
    if round(change * scale, digits) == 0:
        return Delta(text.replace("+", "±").replace("-", "±"), "off", "off")
    if up_is_good is None:
        return Delta(text, "off", "auto")
    return Delta(text, "normal" if up_is_good else "inverse", "auto")


def engine_label(manifest: dict[str, Any]) -> str:
    """The engine that built a run, with its version when it is not the default DuckDB
    (runs from before engines were recorded were all built on DuckDB)."""
    engine = _dict(manifest.get("engine"))
    if engine.get("name") == "spark":
        return f"Apache Spark {engine.get('spark') or ''}".strip()
    return "DuckDB"
