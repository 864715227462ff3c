"""The command line: success summary, clear one-line errors with exit code 2."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from generator.data_generator import (
    FAULT_CLASSES,
    GeneratorConfig,
    GeneratorInputError,
    generate_dataset,
    main,
)

SCRIPT = Path(__file__).resolve().parents[2] / "generator" / "data_generator.py"


def test_main_writes_a_run_and_prints_a_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--out-dir", str(tmp_path), "--seed", "1", "--users", "300",
                 "--as-of", "2026-11-01", "--days", "120"])
    out = capsys.readouterr()
    assert code == 0
    assert out.out.startswith("wrote ") and "users=300" in out.out
    assert out.err == ""
    assert (tmp_path / "app.sqlite").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "2026-13-01"],
     "--as-of must be a date like 2026-11-01 (YYYY-MM-DD), got '2026-13-01'"),
    (["--as-of", "yesterday"],
     "--as-of must be a date like 2026-11-01 (YYYY-MM-DD), got 'yesterday'"),
    (["--as-of", "20261101"],
     "--as-of must be a date like 2026-11-01 (YYYY-MM-DD), got '20261101'"),
    (["--users", "-5"], "--users must be a positive integer, got -5"),
    (["--users", "0"], "--users must be a positive integer, got 0"),
    (["--users", "many"], "--users must be a whole number written with the digits 0-9, "
                          "got 'many'"),
    (["--users", "1_000"], "--users must be a whole number written with the digits 0-9, "
                           "got '1_000'"),
    (["--seed", "-1"], "--seed must be an integer between 0 and 9223372036854775807, got -1"),
    (["--faults", ""], f"--faults is empty; name at least one fault class "
                       f"({', '.join(FAULT_CLASSES)}) or leave the option out"),
    (["--days", "3"], "--days must be an integer between 14 and 3650, got 3"),
    (["--faults", "duplicate_keys,foo"],
     f"unknown fault 'foo'; known: {', '.join(FAULT_CLASSES)}"),
    (["--faults", "null_keys,null_keys"], "--faults names 'null_keys' more than once"),
    (["--faults", ","],
     "--faults has an empty name in ','; separate fault classes with single commas"),
])
def test_bad_arguments_exit_2_with_one_clear_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        message: str) -> None:
    code = main(["--out-dir", str(tmp_path / "out"), "--as-of", "2026-11-01", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"data_generator.py: error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_missing_out_dir_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert capsys.readouterr().err == (
        "data_generator.py: error: the following arguments are required: --out-dir\n")


def test_unwritable_out_dir_fails_with_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["--out-dir", str(blocker / "run"), "--users", "50",
                 "--as-of", "2026-11-01"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("data_generator.py: error: ") and "Traceback" not in err


def test_script_runs_from_any_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out-dir", "run", "--users", "200",
         "--as-of", "2026-11-01", "--days", "60"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "app_events.csv").exists()


def test_script_bad_date_has_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out-dir", "run", "--as-of", "2026-02-30"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "data_generator.py: error: --as-of must be a date like 2026-11-01 (YYYY-MM-DD), "
        "got '2026-02-30'\n")


@pytest.mark.parametrize(("config", "message"), [
    (GeneratorConfig(seed=1, users=-5, as_of=dt.date(2026, 1, 1)),
     "--users must be a positive integer, got -5"),
    (GeneratorConfig(seed=1, users=True, as_of=dt.date(2026, 1, 1)),
     "--users must be a positive integer, got True"),
    (GeneratorConfig(seed=1, users=10, as_of=dt.date(2026, 1, 1), faults=("foo",)),
     f"unknown fault 'foo'; known: {', '.join(FAULT_CLASSES)}"),
])
def test_api_validates_config(tmp_path: Path, config: GeneratorConfig, message: str) -> None:
    with pytest.raises(GeneratorInputError) as info:
        generate_dataset(tmp_path, config)
    assert str(info.value) == message


def test_as_of_after_tomorrow_utc_is_refused_and_tomorrow_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    later = tomorrow + dt.timedelta(days=1)
    code = main(["--out-dir", str(tmp_path / "out"), "--as-of", later.isoformat()])
    assert code == 2
    assert capsys.readouterr().err == (
        f"data_generator.py: error: --as-of must be at most tomorrow ({tomorrow.isoformat()}, "
        f"UTC), got {later.isoformat()}\n")
    assert not (tmp_path / "out").exists()
    assert main(["--out-dir", str(tmp_path / "ok"), "--as-of", tomorrow.isoformat(),
                 "--users", "50", "--days", "30"]) == 0
