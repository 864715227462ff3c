"""The dashboards' metric captions and ageing buckets: ``foundation/metric_definitions.py``.

Every chart of an analytics page carries a one-line definition of its metric. The dbt YAML
states each definition once (the lines of a model's description that
``config.meta.definitions`` names, vars rendered); this writes them as ``CAPTIONS``, with the
ageing buckets of var ``liability_ageing_buckets`` (mart column and label) as
``AGEING_BUCKETS``, so the Finance page labels whatever buckets the marts hold, and the
scalar vars as ``VARS`` (the windows a page names in its texts), and the unit every numeric
column of a dashboard mart declares as ``COLUMN_UNITS`` (:mod:`codegen.units`), so a page
formats a number by what it measures, never by a guess from its name.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from codegen import dbt_project
from codegen.common import HEADER
from codegen.dbt_project import ageing_buckets
from codegen.dbt_yaml import definitions
from codegen.units import column_units
from foundation.paths import REPO_ROOT

CAPTIONS_FILE = REPO_ROOT / "foundation" / "metric_definitions.py"
SOURCES = ("dbt_carton_caps/models/**/_*__models.yml (config.meta.definitions, the\n"
           "# columns' config.meta.unit) and dbt_carton_caps/dbt_project.yml (vars)")
#: characters of a string literal per line, so the module stays inside the line limit
CHUNK = 80


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _string(text: str, indent: str) -> str:
    """A string expression, split over lines of at most :data:`CHUNK` characters."""
    chunks = textwrap.wrap(text, CHUNK, drop_whitespace=False, break_long_words=False,
                           break_on_hyphens=False) or [""]
    if len(chunks) == 1 and len(text) <= CHUNK - 20:  # fits beside its key
        return _literal(chunks[0])
    inner = "\n".join(f"{indent}    {_literal(chunk)}" for chunk in chunks)
    return f"(\n{inner}\n{indent})"


def render() -> str:
    lines = [
        HEADER.rstrip("\n"),
        f"# Generated from {SOURCES}.",
        '"""The metric definitions the dbt project states, as the dashboards show them."""',
        "",
        "#: caption key -> the one-line definition shown under a chart (ui.caption)",
        "CAPTIONS: dict[str, str] = {",
    ]
    for item in definitions():
        lines.append(f"    {_literal(item.key)}: {_string(item.text, '    ')},")
    lines += [
        "}",
        "",
        "#: reward-liability ageing buckets, youngest first: (mart column, label)",
        "AGEING_BUCKETS: tuple[tuple[str, str], ...] = (",
    ]
    for bucket in ageing_buckets():
        lines.append(f"    ({_literal(bucket.column)}, {_literal(bucket.label)}),")
    lines += [
        ")",
        "",
        "#: the numbers of the definitions (the scalar vars of dbt_project.yml), for page texts",
        "VARS: dict[str, int | float | str] = {",
    ]
    for name, value in dbt_project.dbt_vars().items():
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            lines.append(f"    {_literal(name)}: {value!r},")
    lines += [
        "}",
        "",
        "#: mart -> numeric column -> its unit (config.meta.unit of the dbt YAML): dollars,",
        "#: share (0-1, shown as a percentage), percent (already in percent points), count,",
        "#: ratio, days, id, ordinal",
        "COLUMN_UNITS: dict[str, dict[str, str]] = {",
    ]
    for mart, units in column_units().items():
        lines.append(f"    {_literal(mart)}: {{")
        for column, unit in units.items():
            lines.append(f"        {_literal(column)}: {_literal(unit)},")
        lines.append("    },")
    lines += ["}", ""]
    return "\n".join(lines)


def files() -> dict[Path, Callable[[], str]]:
    return {CAPTIONS_FILE: render}
