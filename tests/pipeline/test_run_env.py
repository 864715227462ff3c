"""A run's parameters from the environment: CARTON_CAPS_HOME, _USERS, _SEED and _ENGINE stand
in for their flags, a flag wins, and a value from the environment is checked by the same
strict rules as the flag, its message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.paths import REPO_ROOT
from pipeline.lifecycle.step_types import RunConfig
from pipeline.run_pipeline import UsageError, build_parser, config_from_args


def config(argv: list[str], env: dict[str, str]) -> RunConfig:
    return config_from_args(build_parser().parse_args(["--as-of", "2026-11-01", *argv]), env)


def test_the_environment_gives_the_parameters(tmp_path: Path) -> None:
    env = {"CARTON_CAPS_HOME": str(tmp_path), "CARTON_CAPS_USERS": "1000",
           "CARTON_CAPS_SEED": "9", "CARTON_CAPS_ENGINE": "spark"}
    got = config([], env)
    assert (got.home, got.users, got.seed, got.engine) == (tmp_path.resolve(), 1000, 9, "spark")


def test_a_flag_wins_over_its_variable(tmp_path: Path) -> None:
    env = {"CARTON_CAPS_HOME": "/nowhere", "CARTON_CAPS_USERS": "1000",
           "CARTON_CAPS_SEED": "9", "CARTON_CAPS_ENGINE": "spark"}
    got = config(["--home", str(tmp_path), "--users", "300", "--seed", "7",
                  "--engine", "duckdb"], env)
    assert (got.home, got.users, got.seed, got.engine) == (tmp_path.resolve(), 300, 7, "duckdb")


def test_without_flags_or_variables_the_defaults_hold() -> None:
    got = config([], {"CARTON_CAPS_USERS": ""})  # an empty variable is unset
    assert (got.home, got.users, got.seed, got.engine) == (REPO_ROOT, 20_000, 42, "duckdb")


@pytest.mark.parametrize(("env", "message"), [
    ({"CARTON_CAPS_USERS": "1_000"},
     "CARTON_CAPS_USERS must be a whole number written with the digits 0-9, got '1_000'"),
    ({"CARTON_CAPS_USERS": "٣٠٠"},
     "CARTON_CAPS_USERS must be a whole number written with the digits 0-9, got '٣٠٠'"),
    ({"CARTON_CAPS_USERS": "0"}, "CARTON_CAPS_USERS must be a positive integer, got 0"),
    ({"CARTON_CAPS_SEED": "-1"}, "CARTON_CAPS_SEED must be"),
    ({"CARTON_CAPS_ENGINE": "Spark"},
     "CARTON_CAPS_ENGINE must be one of duckdb, spark, got 'Spark'"),
])
def test_a_bad_variable_is_refused_by_the_flags_rules(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as refused:
        config([], env)
    assert str(refused.value).startswith(message)


def test_a_home_variable_naming_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(UsageError, match=r"^CARTON_CAPS_HOME .* is not a directory$"):
        config([], {"CARTON_CAPS_HOME": str(afile)})
