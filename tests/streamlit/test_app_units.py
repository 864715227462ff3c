"""What the screen says is true: on every page, each number a table shows is formatted by
the unit its column declares, and a percentage is the stored value x1 (percent points) or
x100 (a share), never off by a factor of 100 (a MAPE of 26.1 once read "2,611.74 %")."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import duckdb
from foundation import metric_definitions
from streamlit_app import charts, formats
from tests.streamlit.conftest import PAGE_FILES, open_page, texts

#: the table format each kind is shown with (one per kind)
TABLE_FORMAT = {name: spec.table for name, spec in formats.KINDS.items()}


@pytest.fixture
def tiny_home(tiny_run, use_home) -> Path:
    return use_home(tiny_run.home)


def in_order(node: Any) -> list[Any]:
    """The elements under an AppTest node, in the order the page draws them."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [leaf for key in sorted(children) for leaf in in_order(children[key])]


def shown_tables(at: Any) -> list[tuple[str, pd.DataFrame, dict[str, Any]]]:
    """(table name, displayed frame, column config) of every ui.table of a page: its
    dataframe, then its CSV button keyed ``csv_<name>`` (a sample of a failing test's
    stored rows on the dbt page has no button: it is shown as stored)."""
    tables, last = [], None
    for element in in_order(at.main):
        if element.type == "dataframe":
            last = element
        elif element.type == "download_button" and str(element.key).startswith("csv_"):
            assert last is not None, f"{element.key} follows no table"
            tables.append((str(element.key).removeprefix("csv_"), last.value,
                           json.loads(last.proto.columns or "{}")))
            last = None
    return tables


def stored_values(snapshot: Path, mart: str, column: str) -> list[float]:
    with duckdb.connect(str(snapshot), read_only=True) as con:
        rows = con.execute(f'select "{column}" from marts.{mart}').fetchall()
    return [float(value) for (value,) in rows if value is not None]


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [str(column) for column in frame.columns
            if pd.api.types.is_numeric_dtype(frame[column])
            and not pd.api.types.is_bool_dtype(frame[column])]


def expected_kind(table: str, column: str) -> str:
    """The declared kind: the mart's unit in the dbt YAML, else an identifier by the
    project's ``<entity>_id`` rule, else the operations column's declared kind."""
    declared = metric_definitions.COLUMN_UNITS.get(table, {})
    if column in declared:
        return declared[column]
    if column.endswith("_id"):
        return "id"
    return charts.kind_of(column)


def close_to_one_of(value: float, stored: list[float]) -> bool:
    return any(math.isclose(value, candidate, rel_tol=1e-9, abs_tol=1e-9)
               for candidate in stored)


@pytest.mark.parametrize("page", [page for page in PAGE_FILES if page != "views/compare.py"])
def test_every_table_shows_each_number_by_its_declared_unit(tiny_run, tiny_home: Path,
                                                            page: str) -> None:
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    problems: list[str] = []
    for table, frame, config in shown_tables(at):
        for column in numeric_columns(frame):
            where = f"{page} {table}.{column}"
            kind = expected_kind(table, column)
            if kind == "number":
                problems.append(f"{where}: no declared unit (the dbt YAML for a mart column, "
                                "charts.LABELS for an operations column)")
                continue
            shown_format = (config.get(column) or {}).get("type_config", {}).get("format")
            if shown_format != TABLE_FORMAT[kind]:
                problems.append(f"{where}: format {shown_format!r}, its unit {kind!r} "
                                f"is shown as {TABLE_FORMAT[kind]!r}")
            values = frame[column].dropna().astype(float)
            if kind == "count" and not (values == values.round()).all():
                problems.append(f"{where}: a count that is not a whole number")
            if table not in metric_definitions.COLUMN_UNITS or values.empty:
                continue
            # the displayed number is the stored one x1, or x100 for a share: nothing else
            stored = stored_values(tiny_run.snapshot, table, column)
            scale = formats.KINDS[kind].scale
            wrong = [value for value in values.head(50)
                     if not close_to_one_of(value / scale, stored)]
            if wrong:
                problems.append(f"{where}: shown {wrong[:3]} is not a stored value x{scale:g}")
            if kind in formats.PERCENT_KINDS and stored:
                low, high = min(stored) * scale, max(stored) * scale
                if not all(low - 1e-9 <= value <= high + 1e-9 for value in values):
                    problems.append(f"{where}: a percentage outside [{low}, {high}]")
    assert problems == []


def test_finance_shows_mape_in_percent_points_and_shares_as_percentages(
        tiny_run, tiny_home: Path) -> None:
    """The back-test table: MAPE stored as 26.1 shows 26.1%, WAPE stored as 0.403 shows
    40.3%, coverage one way (a share) in the table and in the verdict."""
    at = open_page("views/finance.py")
    tables = {name: (frame, config) for name, frame, config in shown_tables(at)}
    frame, config = tables["mart_redemption_forecast_backtest"]
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        stored = con.execute("select model_name, mape_pct, wape, coverage_80 "
                             "from marts.mart_redemption_forecast_backtest").df()
        coverage = con.execute("select coverage_80 "
                               "from marts.mart_redemption_forecast_accuracy").fetchone()[0]
    merged = frame.merge(stored, on="model_name", suffixes=("_shown", ""))
    assert (merged["mape_pct_shown"] - merged["mape_pct"]).abs().max() < 1e-9
    assert (merged["wape_shown"] - 100 * merged["wape"]).abs().max() < 1e-9
    assert {config[c]["type_config"]["format"] for c in ("mape_pct", "wape", "coverage_80")
            } == {"%.1f%%"}
    assert config["mae_dollars"]["type_config"]["format"] == "dollar"
    verdicts = " ".join(texts(at.success) + texts(at.warning))
    assert f"covered {formats.text(coverage, 'share')} of back-test weeks" in verdicts


def test_forecast_bounds_are_dollars_and_the_partial_first_week_is_named(
        tiny_run, tiny_home: Path) -> None:
    at = open_page("views/finance.py")
    tables = {name: config for name, _frame, config in shown_tables(at)}
    for table in ("mart_redemption_forecast_totals", "mart_redemption_forecast"):
        for column in ("lower_80", "upper_80"):
            assert tables[table][column]["type_config"]["format"] == "dollar"
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        first_week, as_of = con.execute(
            "select min(first_week), max(as_of_date) from marts.mart_redemption_forecast_totals"
            " cross join marts.mart_redemption_forecast_accuracy").fetchone()
    observed = (as_of - first_week).days
    notes = " ".join(texts(at.info))
    if 0 < observed < 7:
        assert (f"The week of {first_week:%Y-%m-%d} holds the as-of date ({as_of:%Y-%m-%d}): "
                f"{observed} of its 7 days are already in the data") in notes
    else:
        assert "first forecast week is partial" not in notes


def test_breakage_not_yet_observable_is_a_dash_with_its_reason_not_zero(
        tiny_run, tiny_home: Path) -> None:
    at = open_page("views/finance.py")
    at.selectbox(key="dates_breakage_preset").set_value("All dates").run()
    frame = next(frame for name, frame, _config in shown_tables(at)
                 if name == "mart_expiry_breakage")
    waiting = frame[~frame["is_cohort_expiry_observable"]]
    assert not waiting.empty
    assert waiting["cohort_breakage_rate"].isna().all()
    assert waiting["expired_from_month_earnings_dollars"].isna().all()
    assert any(caption.startswith(f"{formats.MISSING} = not observable yet, not zero")
               for caption in texts(at.caption))
    chart = next(json.loads(element.proto.spec) for element in at.get("plotly_chart")
                 if element.proto.id.endswith("-breakage_chart"))
    labels = chart["data"][0]["x"]
    assert all(label[:3].isalpha() and label[4:8].isdigit() for label in labels)  # "Oct 2026"
    partial = ~frame["is_month_complete"]
    assert [label.endswith("(partial)") for label in labels] == list(partial)


def test_one_formatter_per_kind() -> None:
    assert formats.text(26.07, "percent") == "26.1%"
    assert formats.text(0.2607, "share") == "26.1%"
    assert formats.text(-1234.5, "dollars") == "-$1,234.50"
    assert formats.text(1234567, "count") == "1,234,567"
    assert formats.text(1.15134, "ratio") == "1.151"
    assert formats.text(None, "dollars") == formats.MISSING
    assert formats.hover("share") == "%{y:.1%}"
    assert formats.hover("percent", "z") == "%{z:,.1f}%"
    assert formats.hover("dollars") == "$%{y:,.2f}"
    with pytest.raises(KeyError, match="unknown number kind 'pct'"):
        formats.text(0.5, "pct")


def test_a_column_named_pct_is_not_taken_for_a_share() -> None:
    """Kinds are declared, never guessed: an undeclared ``*_pct`` column is a plain number."""
    assert charts.kind_of("mape_pct") == "percent"  # declared by the marts
    assert charts.kind_of("something_pct") == "number"
    assert charts.kind_of("some_rate") == "number"
