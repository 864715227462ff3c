"""The shared chart conventions: partial cohorts drawn apart from finished ones, and
tooltips carrying their unit."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go

from streamlit_app import charts

WEEK_1 = dt.date(2026, 1, 5)
WEEK_2 = dt.date(2026, 1, 12)


def _retention() -> pd.DataFrame:
    return pd.DataFrame({
        "signup_week": [WEEK_1, WEEK_1, WEEK_1, WEEK_2, WEEK_2],
        "weeks_since_signup": [0, 1, 2, 0, 1],
        "retention": [1.0, 0.5, 0.3, 1.0, 0.2],
        "is_complete": [True, True, False, True, False],
    })


def test_the_retention_heatmap_puts_still_open_weeks_in_their_own_grey_trace() -> None:
    figure = charts.cohort_heatmap(_retention(), row="signup_week",
                                   column="weeks_since_signup", value="retention",
                                   title="Retention", x_title="Weeks since sign-up",
                                   y_title="Sign-up week")

    complete, still_open = figure.data
    assert (complete.name, still_open.name) == ("complete", "still open")
    assert list(complete.y) == [WEEK_1, WEEK_2] and list(complete.x) == [0, 1, 2]
    # every cell is in exactly one of the two traces, with its own value
    for done_row, open_row, expected in zip(complete.z, still_open.z,
                                            [[1.0, 0.5, 0.3], [1.0, 0.2, math.nan]], strict=True):
        for done, partial, value in zip(done_row, open_row, expected, strict=True):
            if math.isnan(value):
                assert math.isnan(done) and math.isnan(partial)
            else:
                assert math.isnan(done) != math.isnan(partial)
                assert (partial if math.isnan(done) else done) == value
    assert math.isnan(complete.z[0][2]) and still_open.z[0][2] == 0.3
    assert math.isnan(complete.z[1][1]) and still_open.z[1][1] == 0.2
    assert still_open.showscale is False
    assert "%{z:.1%}" in complete.hovertemplate
    assert still_open.hovertemplate.endswith("<extra>still open</extra>")


def test_cohort_lines_draw_open_cohorts_dotted_and_joined_to_the_last_finished_point() -> None:
    frame = pd.DataFrame({"cohort_week": [WEEK_1, WEEK_2, dt.date(2026, 1, 19)],
                          "k_factor": [0.1, 0.12, 0.05],
                          "is_cohort_complete": [True, True, False]})
    figure = go.Figure()

    charts.cohort_lines(figure, frame, "cohort_week", "k_factor", name="K")

    solid, dotted = figure.data
    assert solid.line.dash is None and list(solid.x) == [WEEK_1, WEEK_2]
    assert dotted.line.dash == "dot" and list(dotted.x) == [WEEK_2, dt.date(2026, 1, 19)]
    assert dotted.showlegend is False


def test_money_tooltips_carry_the_dollar_sign_and_thousands_separators() -> None:
    assert charts.hover("dollars") == "$%{y:,.2f}"
    assert charts.hover("share", "z") == "%{z:.1%}"


def test_each_run_health_status_has_its_outcome_colour() -> None:
    """Ops draws runs by health: healthy green like PASS, warnings orange like WARN,
    failed red like FAIL (a status missing here fell back to the palette's blue)."""
    from typing import get_args

    from pipeline.checks.health import HealthStatus

    assert set(get_args(HealthStatus)) == {"healthy", "warnings", "failed"}
    assert [charts.STATUS_COLORS[s] for s in ("healthy", "warnings", "failed")] == [
        charts.STATUS_COLORS["PASS"], charts.STATUS_COLORS["WARN"], charts.STATUS_COLORS["FAIL"]]
    assert charts.ordered(["failed", "warnings", "healthy"], charts.STATUS_ORDER) == [
        "healthy", "warnings", "failed"]


def test_axis_labels_cut_for_a_phone_stay_distinct() -> None:
    """Two marts sharing their first 19 characters were both "mart_reward_liabili…"."""
    names = ["mart_reward_liability_by_school", "mart_reward_liability_daily",
             "Rodriguez Elementary School", "dim_dates"]
    shown = charts.short_labels(names)
    assert len(set(shown)) == len(names)
    assert all(len(label) <= charts.LABEL_CHARS for label in shown)
    assert shown[2:] == ["Rodriguez Elementar…", "dim_dates"]  # read from the start
    figure = charts.bar_figure(pd.DataFrame({"name": names, "seconds": [4.0, 3.0, 2.0, 1.0]}),
                               "seconds", "name", horizontal=True)
    assert list(figure.layout.yaxis.ticktext) == shown
