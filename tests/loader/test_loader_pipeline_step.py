"""The pipeline's load step: the reject threshold from the environment, and what a failed
load leaves in the manifest (the load itself is rolled back)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import loader
from foundation.paths import RunPaths
from foundation.source_tables import APP_EVENTS
from pipeline.lifecycle import runner
from pipeline.lifecycle.errors import StepError
from pipeline.lifecycle.step_types import RunConfig, RunPlan, RunState, StepResult
from pipeline.records.run_manifest import RunManifest
from pipeline.steps import build as build_steps
from pipeline.steps import reject_threshold
from tests.loader.helpers import table_rows, write_csv, write_dataset

ENV = "CARTON_CAPS_MAX_REJECT_SHARE"
N_ROWS = 200
BAD_LINES = (5, 9, 13)  # 3 of 200 rows = 1.5 %: over the default 1 %, under 5 %


def _config(home: Path, run_id: str = "step") -> RunConfig:
    return RunConfig(home=home, run_id=run_id, seed=1, users=1,
                            as_of=date(2026, 11, 1), days=1)


def _write_bad_dataset(data_dir: Path) -> None:
    write_dataset(data_dir)
    path = write_csv(data_dir / "app_events.csv", APP_EVENTS.column_names,
                     table_rows(APP_EVENTS, N_ROWS))
    lines = path.read_text().split("\n")
    for number in BAD_LINES:
        fields = lines[number - 1].split(",")
        fields[5] = f"bad time {number}"
        lines[number - 1] = ",".join(fields)
    path.write_text("\n".join(lines))


def _state(home: Path) -> RunState:
    config = _config(home)
    paths = RunPaths(home=home, run_id=config.run_id)
    paths.ensure()
    _write_bad_dataset(paths.run_data_dir)
    manifest = RunManifest(run_id=config.run_id, status="running", started_at=None,
                           home=str(home), params=config.params())
    return RunState(config=config, paths=paths, manifest=manifest)


def test_the_pipeline_and_the_tests_share_one_loader_module() -> None:
    from tests.loader.helpers import import_loader

    assert import_loader() is loader
    assert build_steps.loader.LoadError is loader.LoadError


def test_failed_load_records_the_failing_table_and_a_rejects_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    state = _state(tmp_path)
    with pytest.raises(StepError) as err:
        build_steps.step_load_raw(state)
    assert str(err.value) == (
        "app_events.csv: 3 of 200 rows rejected (1.50 %) exceeds the 1.00 % threshold; "
        "first: line 5 column event_time: could not convert 'bad time 5' to TIMESTAMP")
    ingestion = err.value.manifest_updates.ingestion
    assert ingestion["max_reject_share"] == 0.01
    assert ingestion["failed_table"] == "app_events"
    assert [(r["table_name"], r["line"], r["column_name"], r["reason"])
            for r in ingestion["rejects_sample"]] == [
        ("app_events", number, "event_time",
         f"could not convert 'bad time {number}' to TIMESTAMP") for number in BAD_LINES]
    assert not state.paths.building_snapshot.exists()


def test_the_threshold_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "0.05")
    state = _state(tmp_path)
    result = build_steps.step_load_raw(state)
    assert result.details["rows"] > 0
    assert result.manifest.ingestion["max_reject_share"] == 0.05
    events = result.manifest.ingestion["tables"]["app_events"]
    assert (events["rows_loaded"], events["rows_rejected"]) == (N_ROWS - 3, 3)
    assert result.warnings[0].startswith(
        "app_events.csv: 3 of 200 rows rejected (1.50 %) within the 5.00 % threshold; ")


@pytest.mark.parametrize("value", ["abc", "1.5", "-0.1", "nan", "inf", "5%"])
def test_an_invalid_threshold_fails_the_step_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV, value)
    state = _state(tmp_path)
    with pytest.raises(StepError) as err:
        build_steps.step_load_raw(state)
    assert str(err.value) == (
        f"invalid CARTON_CAPS_MAX_REJECT_SHARE={value!r}: must be a number between 0 and 1 "
        "(a share of a table's rows, e.g. 0.05 for 5 %)")
    assert not state.paths.building_snapshot.exists()


@pytest.mark.parametrize(("environ", "share"), [
    ({}, 0.01), ({ENV: ""}, 0.01), ({ENV: " 0.2 "}, 0.2), ({ENV: "0"}, 0.0), ({ENV: "1"}, 1.0),
])
def test_max_reject_share_parsing(environ: dict[str, str], share: float) -> None:
    assert reject_threshold.max_reject_share(environ) == share


@pytest.mark.pipeline_run
def test_a_failed_run_keeps_the_sample_in_its_manifest_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)

    def generate(state: RunState) -> StepResult:
        _write_bad_dataset(state.paths.run_data_dir)
        return StepResult()

    run = runner.PipelineRun(_config(tmp_path, "bad_load"),
                             RunPlan((("generate", generate),
                                      ("load_raw", build_steps.step_load_raw))))
    state = run.claim(0.0)
    assert run.execute(state) == runner.EXIT_FAILED
    manifest = json.loads((tmp_path / "logs" / "pipeline_bad_load.json").read_text())
    assert (manifest["status"], manifest["failed_step"]) == ("failed", "load_raw")
    assert manifest["error"].startswith("app_events.csv: 3 of 200 rows rejected (1.50 %) ")
    assert [r["line"] for r in manifest["ingestion"]["rejects_sample"]] == list(BAD_LINES)
    assert manifest["ingestion"]["rejects_sample"][0]["raw_text"].startswith(
        "4,4,device_id 3,session_id 3,event_name 3,bad time 5,")
    assert sorted(p.name for p in (tmp_path / "duckdb").iterdir()) == []
