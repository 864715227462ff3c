"""bench/bench_contracts.py: the contract step with and without dbt's counts, as a ratio."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from foundation.paths import REPO_ROOT
from pipeline.checks import contracts
from tests.bench import bench_scripts
from tests.conftest import TinyRun

SCRIPT = REPO_ROOT / "bench" / "bench_contracts.py"


def bench_module() -> ModuleType:
    """bench/bench_contracts.py as a module."""
    return bench_scripts.load("bench_contracts")


def test_the_benchmark_times_both_modes_and_finds_them_alike(
        tiny_run: TinyRun, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--home", str(tiny_run.home),
                           "--run-id", tiny_run.run_id, "--repeat", "1",
                           "--out-dir", str(tmp_path)],
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                          capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [out] = tmp_path.glob("contracts_*.json")
    figures = json.loads(out.read_text())
    assert figures["run_id"] == tiny_run.run_id and figures["users"] == 300
    assert 0 < figures["checks_from_dbt"] < figures["checks"]
    assert len(figures["wall_s"]["scan"]) == len(figures["wall_s"]["reuse"]) == 1
    assert figures["ratio_reuse_to_scan"] > 0
    assert "same checks, statuses and values" in done.stdout


def test_a_difference_between_the_modes_is_named() -> None:
    bench_contracts = bench_module()
    row = contracts.ContractResult(
        contract_id="c", layer="marts", table="t", column="id", check="unique",
        check_type="field_primary_key_unique", owner="Product", severity="fail",
        status="PASS", measured="0", threshold="= 0", message=None, engine="dbt")
    moment = datetime(2026, 11, 1)
    report = contracts.ContractReport(results=(row,), as_of_cutoff=moment, evaluated_at=moment)
    other = dataclasses.replace(report, results=(dataclasses.replace(
        row, status="FAIL", measured="2", engine="datacontract-cli"),))
    assert bench_contracts.first_difference(report, report) is None
    assert bench_contracts.first_difference(report, other) == (
        "('c', 't', 'id', 'unique', 'field_primary_key_unique') status: 'PASS' != 'FAIL'")


@pytest.mark.parametrize("repeat", ["0", "-1", "1x"])
def test_a_repeat_that_runs_no_round_is_a_usage_error(
        repeat: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench_module().main(["--home", "h", "--run-id", "r", "--repeat", repeat])
    assert exited.value.code == 2
    assert (f"error: argument --repeat: must be a whole number of at least 1, got {repeat!r}"
            in capsys.readouterr().err)


def test_the_runs_manifest_is_read_as_untrusted_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A manifest linked to a file outside the home is refused, never followed."""
    outside = tmp_path / "outside.json"
    outside.write_text("{}", encoding="utf-8")
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "logs" / "pipeline_r1.json").symlink_to(outside)
    with pytest.raises(SystemExit) as exited:
        bench_module().main(["--home", str(home), "--run-id", "r1", "--repeat", "1"])
    assert exited.value.code == 2
    assert "logs/pipeline_r1.json is a symbolic link: refused" in capsys.readouterr().err
