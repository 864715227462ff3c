"""Observability of real tiny runs: ops tables, manifest keys, zero false alarms, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import duckdb
from pipeline import runs
from pipeline.steps.plan import run_plan
from tests.conftest import TinyRun, run_tiny

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

OPS_TABLES = {"pipeline_runs", "pipeline_steps", "contract_results", "dbt_results", "dbt_nodes",
              "dbt_test_failure_samples", "schema_columns", "schema_drift", "volume_anomalies",
              "ingestion_log"}


def test_clean_tiny_run_reports_no_false_alarms(tiny_run: TinyRun) -> None:
    manifest = tiny_run.manifest
    contracts = manifest["contracts"]
    assert contracts["summary"]["fail"] == 0 and contracts["summary"]["warn"] == 0
    assert contracts["failing"] == []
    assert set(contracts["summary"]["contracts"]) == {"carton_caps_raw", "carton_caps_staging",
                                                      "carton_caps_marts"}
    assert manifest["schema_drift"]["changes"] == []
    assert manifest["anomalies"]["anomalies"] == []
    assert manifest["dbt"]["failures"] == []
    assert manifest["warnings"] == []
    assert {t["table"] for t in manifest["ingestion"]["tables"].values()} >= {"users", "receipts"}


def test_snapshot_carries_every_ops_table(tiny_run: TinyRun) -> None:
    with duckdb.connect(str(tiny_run.snapshot), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'ops'"
        ).fetchall()}
        contract_rows = con.execute(
            "select count(*), count(*) filter (where status = 'PASS'), count(distinct owner) "
            "from ops.contract_results").fetchone()
        dbt_rows = con.execute(
            "select count(*) filter (where resource_type = 'test'), "
            "count(*) filter (where resource_type = 'source_freshness') "
            "from ops.dbt_results").fetchone()
        node_types = {r[0] for r in con.execute(
            "select distinct resource_type from ops.dbt_nodes").fetchall()}
        schemas = {r[0] for r in con.execute(
            "select distinct schema_name from ops.schema_columns").fetchall()}
        run = con.execute("select run_id, status, contract_fail, schema_changes "
                          "from ops.pipeline_runs").fetchall()
        steps = con.execute("select count(*) from ops.pipeline_steps").fetchone()[0]
    assert tables >= OPS_TABLES
    assert contract_rows[0] == contract_rows[1] == tiny_run.manifest["contracts"]["summary"][
        "total"] > 1000
    assert contract_rows[2] >= 3
    assert dbt_rows[0] > 50 and dbt_rows[1] == 9
    assert {"model", "test", "source"} <= node_types
    assert {"raw", "staging", "marts"} <= schemas
    assert run == [("tiny", "success", 0, 0)]
    # every step up to record_ops, which writes them (the steps after it are in the manifest)
    assert steps == [name for name, _ in run_plan().steps].index("record_ops") + 1 == 14


@pytest.mark.pipeline_run
def test_second_clean_run_a_week_later_is_quiet(tmp_path: Path) -> None:
    assert run_tiny(tmp_path, "one") == 0
    assert run_tiny(tmp_path, "two", "--as-of", "2026-11-08") == 0
    manifest = json.loads((tmp_path / "logs" / "pipeline_two.json").read_text())
    assert manifest["schema_drift"]["previous_run_id"] == "one"
    assert manifest["schema_drift"]["baseline_available"] is True
    assert manifest["schema_drift"]["changes"] == []
    assert manifest["anomalies"]["baseline_run_ids"] == ["one"]
    assert manifest["anomalies"]["summary"]["checked"] > 30
    assert manifest["anomalies"]["anomalies"] == []
    assert manifest["contracts"]["failing"] == []


def test_runs_cli_lists_shows_and_diffs(tiny_run: TinyRun,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tiny_run.home)
    assert runs.main(["--home", home, "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:3] == ["run", "health", "started"]
    assert listing[2].startswith("* tiny") and " healthy " in listing[2]
    assert runs.main(["--home", home, "show", "tiny"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("run tiny: SUCCESS\n")
    assert "\ncontracts\n" in shown and " 0 warn, 0 fail of " in shown
    assert "\nschema drift\nvs previous successful run -: 0 change(s)" in shown
    assert runs.main(["--home", home, "diff", "tiny", "tiny"]) == 0
    diffed = capsys.readouterr().out
    assert diffed.startswith("diff tiny -> tiny\n")
    assert "row counts (changed tables)\nno change" in diffed
    assert "\nschema\nno change" in diffed


def test_runs_cli_unknown_run_exits_2(tiny_run: TinyRun,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert runs.main(["--home", str(tiny_run.home), "show", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"runs.py: error: unknown run 'nope' in {tiny_run.home}/logs "
                            "(latest runs: tiny)\n")
    assert runs.main(["--home", str(tiny_run.home), "diff", "tiny", "nope"]) == 2


def test_runs_cli_on_an_empty_home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert runs.main(["--home", str(tmp_path), "list"]) == 0
    assert capsys.readouterr().out == f"no runs in {tmp_path}/logs\n"
    assert runs.main(["--home", str(tmp_path / "missing"), "list"]) == 2
    assert capsys.readouterr().err == (f"runs.py: error: --home {tmp_path}/missing "
                                       "is not a directory\n")
