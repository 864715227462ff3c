"""Lineage and Run Comparison pages, and the one run diff both the CLI and the page use."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from foundation.paths import HomePaths
from pipeline import runs
from pipeline.checks import comparison, health
from pipeline.transform import artifacts as dbt_artifacts
from tests.streamlit.conftest import APP, APP_TIMEOUT_S, copy_home, open_page, shown, texts

DOCS_LABEL = "Download dbt's documentation site (one HTML file, opens offline)"


def test_lineage_reads_the_runs_own_manifest_with_test_status(tiny_run) -> None:
    target = tiny_run.home / "logs" / "dbt" / "tiny" / "target"
    graph = dbt_artifacts.lineage(dbt_artifacts.load(target))
    mart = graph["model.carton_caps.mart_daily_engagement"]
    assert mart.layer == "marts"
    assert mart.tests and mart.test_status == "pass"
    assert {graph[parent].layer for parent in mart.parents} <= {"staging", "intermediate",
                                                                 "marts"}
    assert {node.layer for node in graph.values()} == set(dbt_artifacts.LAYERS)
    home = graph["exposure.carton_caps.home"]
    assert "model.carton_caps.mart_daily_engagement" in home.parents


def test_lineage_page_shows_a_models_description_columns_tests_and_neighbours(
        tiny_run, use_home) -> None:
    use_home(tiny_run.home)
    at = open_page("views/lineage.py")
    assert not at.exception
    picker = at.selectbox(key="lineage_node")
    picker.set_value("model.carton_caps.mart_daily_engagement").run()
    assert not at.exception
    assert texts(at.subheader) == ["mart_daily_engagement"]
    assert at.query_params["node"] == "model.carton_caps.mart_daily_engagement"
    frames = [frame.value for frame in at.dataframe]
    assert any("dau" in set(frame.get("column", [])) for frame in frames)
    assert any(set(frame.columns) == {"test", "status"} for frame in frames)
    assert any(frame.get("layer", []).isin(["Staging"]).any() for frame in frames
               if "layer" in frame.columns)
    # dbt's own documentation site of the run, offered as the one file it is
    labels = [button.label for button in at.get("download_button")]
    assert DOCS_LABEL in labels
    assert "logs/dbt/tiny/target/static_index.html" in [code.value for code in at.code]


def test_lineage_graph_cuts_long_names_so_each_node_reads_differently(tiny_run,
                                                                       use_home) -> None:
    """A name longer than a layer's column (the event exports' repeated keys) would run into
    the next layer's labels: it is cut, and the cut names still differ from each other."""
    use_home(tiny_run.home)
    at = open_page("views/lineage.py")
    assert not at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    nodes = [trace for trace in figure["data"] if trace.get("mode") == "markers+text"]
    shown_names = {uid: text for trace in nodes
                   for uid, text in zip(trace["customdata"], trace["text"], strict=True)}
    long_uid = "model.carton_caps.base_event_exports__app_events_repeated_keys"
    assert shown_names[long_uid] == "base_event_exports__app_events_r…"
    assert max(len(text) for text in shown_names.values()) == 33
    assert len(set(shown_names.values())) == len(shown_names)
    # names that fit are shown whole
    assert shown_names["model.carton_caps.mart_daily_engagement"] == "mart_daily_engagement"


def test_lineage_page_explains_a_run_without_a_dbt_manifest(tiny_run, tmp_path: Path,
                                                            use_home) -> None:
    use_home(copy_home(tiny_run.home, tmp_path / "home"))  # copies no dbt target
    at = open_page("views/lineage.py")
    assert not at.exception
    assert any("kept no dbt manifest" in text for text in texts(at.info))
    assert DOCS_LABEL not in [button.label for button in at.get("download_button")]


def _second_run(home: Path) -> None:
    """A faulty second run: other parameters, a contract WARN and a dbt warning."""
    duck, logs = home / "duckdb", home / "logs"
    shutil.copy2(duck / "carton_caps_tiny.duckdb", duck / "carton_caps_tiny2.duckdb")
    document = json.loads((logs / "pipeline_tiny.json").read_text())
    document.update(run_id="tiny2", started_at="2999-01-01T00:00:00.000+00:00",
                    snapshot={"path": str(duck / "carton_caps_tiny2.duckdb")})
    document["params"] = {**document["params"], "faults": ["stale_export"]}
    document["contracts"]["failing"] = [{"layer": "raw", "table": "rewards_ledger",
                                         "column": "created_at", "check": "recency",
                                         "status": "WARN"}]
    document["dbt"]["failures"] = [{"unique_id": "test.carton_caps.t", "status": "warn"}]
    (logs / "pipeline_tiny2.json").write_text(json.dumps(document))
    shutil.copy2(logs / "schema_tiny.json", logs / "schema_tiny2.json")
    (duck / "LATEST_DB.txt").write_text("carton_caps_tiny2.duckdb\n")


def test_compare_returns_what_changed_between_two_runs(tiny_run, tmp_path: Path) -> None:
    home = copy_home(tiny_run.home, tmp_path / "home")
    _second_run(home)
    result = comparison.compare(HomePaths(home), "tiny", "tiny2")
    # one status (the run's health) and the publication status, then what differs
    assert result.params == (("health", "healthy", "healthy"),
                             ("published", "success", "success"),
                             ("faults", [], ["stale_export"]))
    assert result.row_counts == ()
    assert result.schema == ()
    assert result.contracts == (("raw.rewards_ledger", "created_at", "recency", "PASS",
                                 "WARN"),)
    assert result.dbt == (("test.carton_caps.t", "pass", "warn"),)
    assert runs.main(["--home", str(home), "diff", "tiny", "tiny2"]) == 0


def test_compare_page_shows_the_pipelines_diff_and_kpis(tiny_run, tmp_path: Path,
                                                        use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    _second_run(home)
    at = open_page("views/compare.py")
    assert not at.exception
    assert (at.selectbox(key="compare_before").value,
            at.selectbox(key="compare_after").value) == ("tiny", "tiny2")
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Contract outcomes changed"] == "1"
    assert metrics["dbt outcomes changed"] == "1"
    assert "Users" in metrics and "Reward liability" in metrics
    frames = [frame.value for frame in at.dataframe]
    params = next(frame for frame in frames if "parameter" in frame.columns)
    assert params["parameter"].tolist() == ["health", "published", "faults"]
    assert "The schemas are identical." in texts(at.success)
    at.selectbox(key="compare_before").set_value("tiny2").run()
    assert "Pick two different runs." in texts(at.info)


def _home_links(at: AppTest) -> dict[str, str]:
    return {shown(element.proto.label): element.proto.page for element in at.get("page_link")}


def test_home_links_every_finding_to_its_page(tiny_run, tmp_path: Path, use_home) -> None:
    """A run recorded without its health (an older run) is assessed from its manifest by the
    same rules: Home shows one status and links each finding to the page explaining it."""
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    _second_run(home)
    manifest = home / "logs" / "pipeline_tiny2.json"
    document = json.loads(manifest.read_text())
    del document["health"]
    manifest.write_text(json.dumps(document))
    assessed = health.of_run(HomePaths(home), document)
    assert assessed.status == "warnings" and len(assessed.findings) >= 2
    at = open_page()
    assert not at.exception
    assert [text.splitlines()[0] for text in texts(at.warning)
            if text.startswith("**Run health:")] == ["**Run health: warnings**"]
    links = _home_links(at)
    for finding in assessed.findings:
        label = next(label for label in links if label.startswith(finding.title[:40]))
        assert links[label].endswith(finding.page), (label, finding.page)
    assert any(text.startswith("Faults injected on purpose in this run (--faults): "
                               "stale_export.") for text in texts(at.caption))
    assert at.code[0].value == "tiny2"


def test_compare_and_home_show_a_changed_pii_key(tiny_run, tmp_path: Path, use_home) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    _second_run(home)
    manifest = home / "logs" / "pipeline_tiny2.json"
    document = json.loads(manifest.read_text())
    before = document["pii_key"]["fingerprint"]
    document["pii_key"].update(fingerprint="0123456789abcdef", created=True,
                               previous_run_id="tiny", previous_fingerprint=before)
    message = (f"PII key changed since run tiny (fingerprint {before} → 0123456789abcdef): "
               "hashed emails and phones no longer join with earlier runs")
    document["warnings"].append({"step": "load_raw", "message": message})
    del document["health"]  # assessed again from the manifest, as for an older run
    manifest.write_text(json.dumps(document))
    assert comparison.compare(HomePaths(home), "tiny", "tiny2").pii_key_change == message

    at = open_page("views/compare.py")
    assert not at.exception
    assert any(text.startswith("The PII key changed between these runs")
               for text in texts(at.warning))
    frame_shown = next(frame.value for frame in at.dataframe
                 if list(frame.value.columns) == ["before", "after"])
    assert frame_shown.iloc[0].tolist() == [before, "0123456789abcdef"]

    (finding,) = [f for f in health.of_run(HomePaths(home), document).findings
                  if f.category == "pii key changed"]
    assert [signal.text for signal in finding.evidence] == [message]
    at = open_page()
    assert not at.exception
    links = _home_links(at)
    label = next(label for label in links if label.startswith(finding.title[:40]))
    assert links[label].endswith(finding.page)


def test_the_run_in_the_url_is_the_run_shown(tiny_run, tmp_path: Path, use_home) -> None:
    """A reload or a shared link (``?run=tiny``) shows that run, not the pointer's tiny2."""
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    _second_run(home)
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
    at.query_params["run"] = "tiny"
    at.run()
    assert not at.exception
    assert at.code[0].value == "tiny"
    assert at.query_params["run"] == "tiny"


@pytest.fixture
def widget_state_warnings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What Streamlit logs when a widget gets both a default and a Session State value
    (once per process, so the flag is reset; its logger does not propagate to caplog)."""
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    logged: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: logged.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(policies.__name__)
    logger.addHandler(handler)
    try:
        yield logged
    finally:
        logger.removeHandler(handler)


def test_a_compare_link_opens_both_runs_without_a_session_state_warning(
        tiny_run, tmp_path: Path, use_home, widget_state_warnings: list[str]) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    _second_run(home)
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
    at.query_params.update({"before": "tiny2", "after": "tiny"})  # not the page's defaults
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert (at.selectbox(key="compare_before").value,
            at.selectbox(key="compare_after").value) == ("tiny2", "tiny")
    assert widget_state_warnings == []
    at.selectbox(key="compare_before").set_value("tiny").run()  # the user's picks hold
    at.selectbox(key="compare_after").set_value("tiny2").run()
    assert (at.selectbox(key="compare_before").value,
            at.selectbox(key="compare_after").value) == ("tiny", "tiny2")
    assert "before" not in at.query_params and "after" not in at.query_params  # defaults
    assert widget_state_warnings == []


def test_a_period_in_the_link_is_picked_without_a_session_state_warning(
        tiny_run, use_home, widget_state_warnings: list[str]) -> None:
    use_home(tiny_run.home)
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
    at.query_params["engagement"] = "All dates"
    at.run()
    at.switch_page("views/product.py").run()
    assert not at.exception
    assert at.selectbox(key="dates_engagement_preset").value == "All dates"
    assert widget_state_warnings == []
