"""KPI deltas and date presets: pure functions, exact answers (the run's health is
pipeline/checks/health.py, tested in tests/pipeline/test_health.py)."""

from __future__ import annotations

from datetime import date

from streamlit_app import health, periods


def test_a_zero_change_is_grey_without_an_arrow() -> None:
    assert health.kpi_delta(20000, 20000) == health.Delta("±0", "off", "off")
    assert health.kpi_delta(5.0, 5.0, digits=2, prefix="$") == health.Delta("±$0.00", "off",
                                                                             "off")


def test_liability_going_up_is_not_good() -> None:
    assert health.kpi_delta(110.0, 100.0, digits=2, prefix="$", up_is_good=False) == \
        health.Delta("+$10.00", "inverse", "auto")
    assert health.kpi_delta(90.0, 100.0, digits=2, prefix="$") == \
        health.Delta("-$10.00", "normal", "auto")
    assert health.kpi_delta(0.25, 0.2, digits=1, percent=True).text == "+5.0 pp"
    assert health.kpi_delta(None, 1.0) == health.Delta(None, "off", "off")


def test_presets_end_on_the_last_date_with_data() -> None:
    low, high = date(2025, 6, 1), date(2026, 11, 18)
    assert periods.preset_range(periods.LAST_4_WEEKS, low, high) == (date(2026, 10, 22), high)
    assert periods.preset_range(periods.LAST_13_WEEKS, low, high) == (date(2026, 8, 20), high)
    assert periods.preset_range(periods.QUARTER_TO_DATE, low, high) == (date(2026, 10, 1), high)
    assert periods.preset_range(periods.LAST_QUARTER, low, high) == (date(2026, 7, 1),
                                                                     date(2026, 9, 30))
    assert periods.preset_range(periods.YEAR_TO_DATE, low, high) == (date(2026, 1, 1), high)
    assert periods.preset_range(periods.ALL, low, high) == (low, high)
    # a preset reaching before the data is clipped to it
    assert periods.preset_range(periods.YEAR_TO_DATE, date(2026, 3, 1), high)[0] == \
        date(2026, 3, 1)


def test_the_previous_period_has_the_same_length() -> None:
    assert periods.previous_period(date(2026, 10, 1), date(2026, 10, 28)) == (
        date(2026, 9, 3), date(2026, 9, 30))


def test_the_engine_is_named_with_its_version_and_old_runs_are_duckdb() -> None:
    assert health.engine_label({"engine": {"name": "spark", "spark": "4.3.0"}}) == (
        "Apache Spark 4.3.0")
    assert health.engine_label({"engine": {"name": "duckdb"}}) == "DuckDB"
    assert health.engine_label({}) == "DuckDB"
    assert health.engine_label({"engine": "garbage"}) == "DuckDB"
