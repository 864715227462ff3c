"""Every page on the seeded tiny run: no exception, key elements, KPIs equal to the marts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import duckdb
from foundation import metric_definitions
from streamlit_app import ui
from tests.streamlit.conftest import PAGE_FILES, copy_home, open_page, shown, texts

CHART_PAGES = {"views/product.py": 7, "views/marketing.py": 5, "views/finance.py": 6,
               "views/pipeline_ops.py": 2, "views/data_contracts.py": 1,
               "views/dbt_tests.py": 2, "views/schema_drift.py": 1, "views/lineage.py": 1}


def scalar(snapshot: Path, sql: str) -> object:
    with duckdb.connect(str(snapshot), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def served_run(at) -> str:
    """The full run id Home shows in its copyable code block."""
    return at.code[0].value


@pytest.fixture
def tiny_home(tiny_run, use_home) -> Path:
    return use_home(tiny_run.home)


@pytest.mark.parametrize("page", PAGE_FILES)
def test_page_renders_on_the_tiny_run(tiny_home: Path, page: str) -> None:
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.title) == 1
    assert not at.error
    charts = at.get("plotly_chart")
    assert len(charts) >= CHART_PAGES.get(page, 0), f"{page}: {len(charts)} charts"
    if page == "views/compare.py":  # one run in the tiny home: nothing to compare yet
        assert "At least two runs are needed" in " ".join(texts(at.info))
    elif page != "views/home.py":
        assert at.get("download_button"), "tables offer a CSV download"
    # every chart has its one-line definition caption
    assert len(at.caption) >= len(charts)


def test_missing_values_show_as_a_dash_in_every_table(tiny_home: Path) -> None:
    """The activation funnel's first stage has no previous stage: a dash, not "None"."""
    at = open_page("views/product.py")
    assert at.dataframe
    assert {frame.proto.placeholder for frame in at.dataframe} == {ui.MISSING}
    funnel = next(frame.value for frame in at.dataframe
                  if "conversion_from_previous" in frame.value.columns)
    assert funnel["conversion_from_previous"].isna().any()  # the case the dash is for


def test_home_kpis_equal_the_mart_values(tiny_run, tiny_home: Path) -> None:
    at = open_page()
    shown = metrics(at)
    snapshot = tiny_run.snapshot
    users = scalar(snapshot, "select count(*) from marts.dim_users")
    dau = scalar(snapshot, "select dau from marts.mart_daily_engagement "
                           "order by activity_date desc limit 1")
    raised = scalar(snapshot, "select sum(dollars_raised) from marts.mart_school_fundraising")
    liability = scalar(snapshot, "select liability_dollars from marts.mart_reward_liability_daily "
                                 "order by balance_date desc limit 1")
    expiring = scalar(snapshot, "select expiring_90d_dollars from marts.mart_expiry_outlook")
    k_factor = scalar(snapshot, "select sum(qualified_referred_users) / sum(cohort_users) "
                                "from marts.mart_viral_coefficient where is_cohort_complete")
    assert served_run(at) == "tiny"
    status = tiny_run.manifest["health"]["status"]
    banners = {"healthy": at.success, "warnings": at.warning, "failed": at.error}[status]
    assert [t.split("\n")[0] for t in texts(banners) if t.startswith("**Run health:")] == [
        f"**Run health: {status}**"]
    assert shown["Users"] == f"{users:,}"
    assert shown["DAU"] == f"{dau:,}"
    assert shown["Dollars raised"] == f"${float(raised):,.2f}"
    assert shown["Reward liability"] == f"${float(liability):,.2f}"
    assert shown["Expiring in 90 days"] == f"${float(expiring):,.2f}"
    assert shown["K-factor"] == f"{k_factor:.3f}"
    assert users == 300


def test_product_figures_equal_the_mart(tiny_run, tiny_home: Path) -> None:
    at = open_page("views/product.py")
    row = duckdb.connect(str(tiny_run.snapshot), read_only=True).execute(
        "select dau, wau, mau from marts.mart_daily_engagement "
        "order by activity_date desc limit 1").fetchone()
    shown = metrics(at)
    assert (shown["DAU"], shown["WAU"], shown["MAU"]) == tuple(f"{v:,}" for v in row)


def test_finance_liability_equals_the_mart(tiny_run, tiny_home: Path) -> None:
    at = open_page("views/finance.py")
    date, liability = duckdb.connect(str(tiny_run.snapshot), read_only=True).execute(
        "select balance_date, liability_dollars from marts.mart_reward_liability_daily "
        "order by balance_date desc limit 1").fetchone()
    shown = metrics(at)
    assert shown[f"Liability on {date:%Y-%m-%d}"] == f"${float(liability):,.2f}"
    con = duckdb.connect(str(tiny_run.snapshot), read_only=True)
    expiring = con.execute("select expiring_30d_dollars, expiring_60d_dollars, "
                           "expiring_90d_dollars from marts.mart_expiry_outlook").fetchone()
    for days, dollars in zip((30, 60, 90), expiring, strict=True):
        assert shown[f"Expires in the next {days} days"] == f"${float(dollars):,.2f}"
    verdict, beats = con.execute("select verdict, beats_naive "
                                 "from marts.mart_redemption_forecast_accuracy").fetchone()
    notes = texts(at.success if beats else at.warning)
    assert any("**Can I trust it?**" in note and verdict in note for note in notes)
    for weeks, point, lower, upper in con.execute(
            "select horizon_weeks, forecast_dollars, lower_80, upper_80 "
            "from marts.mart_redemption_forecast_totals").fetchall():
        assert shown[f"Redemptions, next {weeks} weeks"] == f"${float(point):,.2f}"
        assert f"80 % range ${float(lower):,.2f} – ${float(upper):,.2f}" in [
            caption.value for caption in at.caption]


def test_marketing_k_equals_i_times_c_of_the_mart(tiny_run, tiny_home: Path) -> None:
    at = open_page("views/marketing.py")
    at.selectbox(key="dates_viral_preset").set_value("All dates").run()
    users, invites, qualified = duckdb.connect(str(tiny_run.snapshot), read_only=True).execute(
        "select sum(cohort_users), sum(invites_sent_30d), sum(qualified_referred_users) "
        "from marts.mart_viral_coefficient where is_cohort_complete").fetchone()
    shown = metrics(at)
    assert shown["K (complete cohorts)"] == f"{qualified / users:.3f}"
    assert shown["i: invites per user"] == f"{invites / users:.3f}"


def test_data_contracts_counts_equal_ops_table(tiny_run, tiny_home: Path) -> None:
    at = open_page("views/data_contracts.py")
    total = scalar(tiny_run.snapshot, "select count(*) from ops.contract_results")
    assert metrics(at)["Checks shown"] == f"{total:,}"
    owner_filter = at.multiselect(key="contract_owner")
    assert "Engineering" in owner_filter.options


def test_dbt_page_counts_every_node(tiny_run, tiny_home: Path) -> None:
    at = open_page("views/dbt_tests.py")
    total = scalar(tiny_run.snapshot, "select count(*) from ops.dbt_results "
                                      "where resource_type not in ('source_freshness', 'exposure')")
    assert total == tiny_run.manifest["dbt"]["total"]
    assert metrics(at)["dbt build nodes"] == f"{total:,}"


def test_schema_page_browses_the_snapshot(tiny_home: Path) -> None:
    at = open_page("views/schema_drift.py")
    assert "marts" in at.selectbox(key="schema_pick").options
    assert "This is the first successful run: nothing to compare with." in texts(at.info)


def _publish_copy(home: Path, source_run: str, run_id: str, started_at: str) -> None:
    """Pretend a new run published: copy the snapshot and manifest, move the pointer."""
    duck, logs = home / "duckdb", home / "logs"
    shutil.copy2(duck / f"carton_caps_{source_run}.duckdb", duck / f"carton_caps_{run_id}.duckdb")
    manifest = json.loads((logs / f"pipeline_{source_run}.json").read_text())
    manifest.update(run_id=run_id, started_at=started_at,
                    snapshot={"path": str(duck / f"carton_caps_{run_id}.duckdb")})
    (logs / f"pipeline_{run_id}.json").write_text(json.dumps(manifest))
    shutil.copy2(logs / f"schema_{source_run}.json", logs / f"schema_{run_id}.json")
    (duck / "LATEST_DB.txt").write_text(f"carton_caps_{run_id}.duckdb\n")


def test_a_publish_is_picked_up_without_restart_and_old_runs_stay_selectable(
        tiny_run, tmp_path: Path, use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    at = open_page()
    assert served_run(at) == "tiny"
    _publish_copy(home, "tiny", "tiny2", "2999-01-01T00:00:00.000+00:00")
    at.run()
    assert served_run(at) == "tiny2"
    assert any(text.startswith("Change shown against the previous successful run (tiny)")
               for text in texts(at.caption))
    selector = at.sidebar.selectbox(key=ui.RUN_KEY)
    assert selector.options == ["Latest: tiny2", "tiny"]
    selector.set_value("tiny").run()
    assert served_run(at) == "tiny"
    assert at.query_params["run"] == "tiny"


def test_schema_drift_against_the_previous_run_is_highlighted(tiny_run, tmp_path: Path,
                                                              use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    _publish_copy(home, "tiny", "tiny2", "2999-01-01T00:00:00.000+00:00")
    manifest = home / "logs" / "pipeline_tiny2.json"
    document = json.loads(manifest.read_text())
    change = {"layer": "snapshot", "schema": "raw", "table": "users", "column": "loyalty_tier",
              "change": "column_added", "before": None, "after": "VARCHAR",
              "detail": "raw.users.loyalty_tier added (VARCHAR)"}
    document["schema_drift"] = {"previous_run_id": "tiny", "baseline_available": True,
                                "summary": {"changes": 1}, "changes": [change]}
    manifest.write_text(json.dumps(document))
    at = open_page("views/schema_drift.py")
    assert not at.exception
    assert ("1 table(s) changed since tiny: 1 column change(s) in the snapshot, 0 in the "
            "source files; one finding per table.") in texts(at.warning)
    drift = next(frame.value for frame in at.dataframe if "change" in frame.value.columns)
    assert drift[["change", "table", "column"]].to_dict("records") == [
        {"change": "column_added", "table": "users", "column": "loyalty_tier"}]


def test_a_render_leaves_no_connection_open(tiny_run, tmp_path: Path, use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    at = open_page("views/finance.py")
    assert not at.exception
    # DuckDB refuses a read-write connection while a read-only one to the file is open
    with duckdb.connect(str(home / "duckdb" / "carton_caps_tiny.duckdb")) as con:
        assert con.execute("select count(*) from marts.mart_state_fundraising").fetchone()[0]


def test_a_failing_test_shows_its_message_and_failing_rows(tiny_run, tmp_path: Path,
                                                           use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    uid = "test.carton_caps.assert_balances_never_negative"
    with duckdb.connect(str(home / "duckdb" / "carton_caps_tiny.duckdb")) as con:
        con.execute("insert into ops.dbt_results (run_id, unique_id, resource_type, name, "
                    "status, execution_time_s, failures, message) values "
                    "('tiny', ?, 'test', 'assert_balances_never_negative', 'warn', 0.1, 2, "
                    "'Got 2 results, configured to warn if != 0')", [uid])
        con.execute("insert into ops.dbt_test_failure_samples (run_id, unique_id, test_name, "
                    "status, row_number, row_json) values "
                    "('tiny', ?, 'assert_balances_never_negative', 'warn', 2, "
                    "'{\"user_id\": 8, \"balance_cents\": -5}'), "
                    "('tiny', ?, 'assert_balances_never_negative', 'warn', 1, "
                    "'{\"user_id\": 7, \"balance_cents\": -1}')", [uid, uid])
    at = open_page("views/dbt_tests.py")
    assert not at.exception
    expander = next(e for e in at.expander
                    if shown(e.label) == "WARN: assert_balances_never_negative")
    assert "Got 2 results, configured to warn if != 0" in texts(expander.text)
    sample = expander.dataframe[0].value
    assert sample.to_dict("records") == [{"user_id": 7, "balance_cents": -1},
                                         {"user_id": 8, "balance_cents": -5}]


#: the ageing buckets the marts have, as dbt_project.yml states them (generated for the app)
AGEING_COLUMNS = [column for column, _label in metric_definitions.AGEING_BUCKETS]
AGEING_LABELS = [label for _column, label in metric_definitions.AGEING_BUCKETS]


def test_finance_shows_liability_by_school_with_its_ageing_buckets(tiny_run,
                                                                  tiny_home: Path) -> None:
    at = open_page("views/finance.py")
    assert not at.exception
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        expected = con.execute(
            f"select balance_date, school_id, liability_dollars, {', '.join(AGEING_COLUMNS)} "
            "from marts.mart_reward_liability_by_school "
            "where balance_date = (select max(balance_date) "
            "from marts.mart_reward_liability_by_school) "
            "order by liability_dollars desc, school_id").df()
    table = next(frame.value for frame in at.dataframe
                 if {"school_id", AGEING_COLUMNS[0]} <= set(frame.value.columns))
    shown = table[["school_id", "liability_dollars", *AGEING_COLUMNS]].reset_index(drop=True)
    want = expected[["school_id", "liability_dollars", *AGEING_COLUMNS]]
    assert len(shown) == len(want) > 0
    assert shown.astype(float).to_dict("records") == want.astype(float).to_dict("records")
    assert table["school_name"].notna().all()
    chart = next(json.loads(element.proto.spec) for element in at.get("plotly_chart")
                 if element.proto.id.endswith("-school_liability_bar"))
    assert any(text.startswith("**Top 20 schools by reward liability")
               for text in texts(at.markdown))  # the title, above the chart
    assert [trace["name"] for trace in chart["data"]] == AGEING_LABELS
    assert chart["layout"]["barmode"] == "relative"
