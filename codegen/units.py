"""The unit of every numeric column of the dashboard marts, as the dbt YAML declares it.

A number on screen is only right if the page knows what it measures: a share stored as
0.261 is "26.1%", a MAPE stored as 26.1 (already in percent points) is "26.1%" too, and a
bound of a dollar forecast is "$227.47". Guessing that from a column's name put MAPE 100x
too large on the Finance page, so each numeric column of a ``mart_*`` model states its
unit once, beside its type (``config: {meta: {unit: share}}``); codegen refuses a numeric
column without one and writes them into ``foundation/metric_definitions.py``
(``COLUMN_UNITS``), where the dashboards' formatters read them.
"""

from __future__ import annotations

from codegen.common import GenerationError, meta
from codegen.dbt_yaml import mart_models

#: unit -> what it means; the dashboards format each one way (streamlit_app/formats.py)
UNITS: dict[str, str] = {
    "dollars": "money in dollars",
    "share": "a fraction of a whole, 0 to 1, shown as a percentage",
    "percent": "a percentage already in percent points (26.1 = 26.1 %)",
    "count": "a whole number of things",
    "ratio": "a plain multiplier or rate that is not a share (K-factor, MASE)",
    "days": "a duration in days",
    "id": "an identifier (shown without separators)",
    "ordinal": "a position or rank (shown without separators)",
}
#: data types whose columns are numbers
NUMERIC_TYPES = ("int", "double", "decimal", "float", "numeric", "real")


def is_numeric(data_type: str) -> bool:
    return any(word in data_type.lower() for word in NUMERIC_TYPES)


def column_units() -> dict[str, dict[str, str]]:
    """Mart -> numeric column -> its declared unit, for every dashboard mart (``mart_*``).

    Raises GenerationError for a numeric column without a unit, an unknown unit, or a unit
    on a column that is not a number.
    """
    found: dict[str, dict[str, str]] = {}
    for name, model in mart_models().items():
        if not name.startswith("mart_"):
            continue
        units: dict[str, str] = {}
        for column in model.get("columns") or ():
            unit = meta(column).get("unit")
            numeric = is_numeric(str(column.get("data_type") or ""))
            where = f"{name}.{column['name']}"
            if numeric and unit is None:
                raise GenerationError(f"{where}: a numeric mart column declares its unit "
                                      f"(config: {{meta: {{unit: ...}}}}, one of "
                                      f"{', '.join(UNITS)})")
            if unit is not None and unit not in UNITS:
                raise GenerationError(f"{where}: unknown unit {unit!r} "
                                      f"(one of {', '.join(UNITS)})")
            if unit is not None and not numeric:
                raise GenerationError(f"{where}: a unit on a column that is not a number")
            if unit is not None:
                units[column["name"]] = unit
        if units:
            found[name] = units
    return found
