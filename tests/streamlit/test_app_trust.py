"""Trust on screen: one status, findings that link to their explanation, and a caution on
every figure whose inputs a finding affects (and on none whose inputs it does not)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from streamlit.proto.Metric_pb2 import Metric
from streamlit.testing.v1 import AppTest

import duckdb
from pipeline.checks.health import Finding, RunHealth, Signal
from tests.conftest import TinyRun
from tests.streamlit.conftest import APP, APP_TIMEOUT_S, copy_home, open_page, shown, texts

LEDGER = "source.carton_caps.event_exports.rewards_ledger"
STALE = Finding(
    finding_id=f"stale_data:{LEDGER}:created_at", severity="warning", category="stale data",
    subject=LEDGER, subject_label="rewards_ledger (raw.rewards_ledger)",
    title="rewards_ledger (raw.rewards_ledger): stale data (120.12 h, expected <= 96 h)",
    measured="120.12 h", threshold="<= 96 h", owner="Engineering", page="data_contracts",
    evidence=(Signal("contract", LEDGER, "stale data", "warning",
                     "contract WARN: raw.rewards_ledger.created_at recency", "created_at",
                     "120.12 h", "<= 96 h", "Engineering", "raw_rewards_ledger_event_recency"),),
    impacted=("raw.rewards_ledger", "staging.stg_event_exports__rewards_ledger",
              "marts.fct_rewards_ledger", "marts.mart_reward_liability_daily",
              "marts.mart_reward_liability_by_school", "exposure:finance"))
REASON = ("rewards_ledger (raw.rewards_ledger): stale data (120.12 h, expected <= 96 h): the "
          "latest days may be missing from figures built on it")


def _home_with(tiny_run: TinyRun, target: Path, health: RunHealth) -> Path:
    """A copy of the tiny run's home whose run recorded ``health``, after an earlier run
    ("before") whose reward liability was $10 lower, so the KPI has a change to colour."""
    home = copy_home(tiny_run.home, target)
    shutil.copytree(tiny_run.home / "logs" / "dbt", home / "logs" / "dbt")
    manifest = home / "logs" / "pipeline_tiny.json"
    document: dict[str, Any] = json.loads(manifest.read_text())
    earlier = {**document, "run_id": "before", "started_at": "2000-01-01T00:00:00.000+00:00",
               "snapshot": {"path": str(home / "duckdb" / "carton_caps_before.duckdb")}}
    earlier.pop("health", None)
    (home / "logs" / "pipeline_before.json").write_text(json.dumps(earlier))
    before = home / "duckdb" / "carton_caps_before.duckdb"
    shutil.copyfile(home / "duckdb" / "carton_caps_tiny.duckdb", before)
    with duckdb.connect(str(before)) as con:
        con.execute("update marts.mart_reward_liability_daily "
                    "set liability_dollars = liability_dollars - 10")
    document["health"] = health.to_json()
    manifest.write_text(json.dumps(document))
    return home


def _links(at: AppTest) -> dict[str, str]:
    return {shown(element.proto.label): element.proto.page for element in at.get("page_link")}


def test_home_says_the_status_once_and_links_each_finding_to_its_explanation(
        tiny_run: TinyRun, tmp_path: Path, use_home) -> None:
    use_home(_home_with(tiny_run, tmp_path / "home",
                        RunHealth("warnings", (STALE,), ("stale_export",))))
    at = open_page()
    assert not at.exception
    assert [text.splitlines()[0] for text in texts(at.warning)] == ["**Run health: warnings**"]
    assert "Status" not in {metric.label for metric in at.metric}  # no second status
    links = _links(at)
    assert links[f"{STALE.title} (owner: Engineering) →"].endswith("data_contracts")
    link = next(e for e in at.get("page_link") if shown(e.proto.label).startswith(STALE.title))
    assert "finding=stale_data" in link.proto.query_string


def test_a_kpi_built_on_affected_data_shows_the_reason_and_no_coloured_change(
        tiny_run: TinyRun, tmp_path: Path, use_home) -> None:
    use_home(_home_with(tiny_run, tmp_path / "home", RunHealth("warnings", (STALE,))))
    at = open_page()
    cautions = [label for label in _links(at) if label.startswith("Caution: ")]
    assert cautions == [f"Caution: {REASON} →"]  # the liability tile only
    liability = next(m for m in at.metric if m.label == "Reward liability")
    assert liability.proto.delta == "+$10.00"
    assert liability.proto.color == Metric.MetricColor.GRAY  # never good or bad news


def test_an_unaffected_kpi_change_is_coloured_as_before(tiny_run: TinyRun, tmp_path: Path,
                                                        use_home) -> None:
    use_home(_home_with(tiny_run, tmp_path / "home", RunHealth("healthy")))
    liability = next(m for m in open_page().metric if m.label == "Reward liability")
    assert liability.proto.delta == "+$10.00"
    assert liability.proto.color == Metric.MetricColor.RED  # a rising liability is worse


def test_a_clean_run_shows_no_caution_anywhere(tiny_run: TinyRun, tmp_path: Path,
                                               use_home) -> None:
    use_home(_home_with(tiny_run, tmp_path / "home", RunHealth("healthy")))
    for page in ("views/home.py", "views/finance.py", "views/product.py",
                 "views/marketing.py"):
        at = open_page(page)
        assert not at.exception
        assert not [label for label in _links(at) if label.startswith("Caution: ")], page
    assert texts(open_page().success)[0].startswith("**Run health: healthy**")


def test_every_figure_read_from_an_affected_mart_carries_the_caution(
        tiny_run: TinyRun, tmp_path: Path, use_home) -> None:
    use_home(_home_with(tiny_run, tmp_path / "home", RunHealth("warnings", (STALE,))))
    finance = _links(open_page("views/finance.py"))
    assert f"Caution: {REASON} →" in finance
    product = _links(open_page("views/product.py"))  # reads no ledger mart
    assert not [label for label in product if label.startswith("Caution: ")]


def test_a_findings_link_opens_it_expanded_at_the_top_of_its_page(
        tiny_run: TinyRun, tmp_path: Path, use_home) -> None:
    use_home(_home_with(tiny_run, tmp_path / "home", RunHealth("warnings", (STALE,))))
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
    at.query_params["finding"] = STALE.finding_id
    at.run()
    at.switch_page("views/data_contracts.py").run()
    assert not at.exception
    assert texts(at.warning)[0] == f"**{STALE.title}**  \n{REASON}"
    (details,) = [e for e in at.expander if e.label.startswith("What this finding rests on")]
    assert details.proto.expanded
    evidence = at.dataframe[0].value
    assert evidence["what"].tolist() == ["contract WARN: raw.rewards_ledger.created_at recency"]


def _liability_tiles(at: AppTest) -> list:
    return [m for m in at.metric if m.label.startswith(("Liability on", "Earned to date",
                                                        "Expired to date"))]


def test_finance_colours_no_change_computed_on_affected_data(
        tiny_run: TinyRun, tmp_path: Path, use_home) -> None:
    """Finance's liability tiles (period against period) read the stale ledger's mart:
    their changes are grey; on a healthy run the same changes are coloured."""
    use_home(_home_with(tiny_run, tmp_path / "stale", RunHealth("warnings", (STALE,))))
    tiles = _liability_tiles(open_page("views/finance.py"))
    assert len(tiles) == 3
    assert [tile.proto.color for tile in tiles if tile.proto.delta] == [
        Metric.MetricColor.GRAY for tile in tiles if tile.proto.delta]
    assert any(tile.proto.delta for tile in tiles)  # a change is shown, only not coloured

    use_home(_home_with(tiny_run, tmp_path / "healthy", RunHealth("healthy")))
    healthy = _liability_tiles(open_page("views/finance.py"))
    assert any(tile.proto.color in (Metric.MetricColor.RED, Metric.MetricColor.GREEN)
               for tile in healthy)
