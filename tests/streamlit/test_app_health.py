"""Home's status logic, KPI deltas and date presets: pure functions, exact answers."""

from __future__ import annotations

from datetime import date

from streamlit_app import health, periods

FAULTY = {"status": "success",
          "params": {"faults": ["duplicate_keys", "stale_export"]},
          "contracts": {"summary": {"pass": 10, "warn": 5, "fail": 0}},
          "dbt": {"pass": 300, "warn": 3, "error": 0},
          "schema_drift": {"summary": {"changes": 2}},
          "anomalies": {"anomalies": [{"table": "receipts"}]},
          "warnings": [{"step": "x", "message": "y"}]}


def test_a_successful_run_with_warnings_is_not_shown_as_plain_success() -> None:
    board = health.run_health(FAULTY)
    assert board.status == "SUCCESS with warnings"
    assert board.severity == "warning"
    assert [(item.severity, item.text, item.page) for item in board.items] == [
        ("warning", "5 contract checks WARN", "data_contracts"),
        ("warning", "3 dbt tests warning", "dbt_tests"),
        ("warning", "2 schema changes since the previous run", "schema_drift"),
        ("warning", "1 volume anomaly against earlier runs", "pipeline_ops"),
        ("info", "Injected faults: duplicate_keys, stale_export", "pipeline_ops"),
        ("info", "1 pipeline warning", "pipeline_ops"),
    ]


def test_failures_come_first_and_set_the_status() -> None:
    board = health.run_health({**FAULTY, "contracts": {"summary": {"warn": 0, "fail": 2}},
                               "dbt": {"error": 1}})
    assert board.status == "SUCCESS with failures"
    assert [item.text for item in board.items[:2]] == ["2 contract checks FAIL",
                                                       "1 dbt node in error"]
    failed = health.run_health({"status": "failed", "failed_step": "dbt_build",
                                "error": "boom"})
    assert (failed.status, failed.items[0].text) == ("FAILED",
                                                      "Run failed at step dbt_build: boom")


def test_a_clean_run_is_healthy() -> None:
    board = health.run_health({"status": "success", "params": {"faults": []},
                               "contracts": {"summary": {"warn": 0, "fail": 0}}})
    assert (board.status, board.severity, board.items) == ("HEALTHY", "ok", ())


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
