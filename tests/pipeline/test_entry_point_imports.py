"""The run's command line starts dbt's worker before it imports the heavy libraries.

dbt's worker starts when the run has claimed its id (:mod:`pipeline.steps.build`'s
``start_dbt_worker``); everything imported before then delays that start, and so the
first dbt command a small run waits for. The generator's numpy, pyarrow, pandas and
Faker, OpenLineage's client, sqlglot and boto3 (about 1.3 s together) are imported by the
steps that use them, while the worker imports dbt on the other core.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from foundation.paths import REPO_ROOT
from generator import config as generator_config
from generator import data_generator

#: what a run needs only once its steps run
HEAVY_MODULES = ("generator.data_generator", "pandas", "numpy", "pyarrow", "faker",
                 "openlineage", "sqlglot", "boto3", "botocore.config", "dbt")


#: a run launched from the command line, stopped where dbt's worker would start: what it
#: has imported by then
_PROBE = """
import json, os, sys
from pipeline.steps import build

def started(state):
    print(json.dumps([m for m in {heavy!r} if m in sys.modules]), flush=True)
    os._exit(0)

build.start_dbt_worker = started
from pipeline import run_pipeline
run_pipeline.main(["--home", {home!r}, "--users", "1000", "--as-of", "2026-12-06",
                   "--run-id", "probe", "--quiet"])
print("the run never started dbt's worker", flush=True)
"""


def test_the_run_starts_dbts_worker_before_it_imports_the_steps_heavy_libraries(
        tmp_path: Path) -> None:
    probe = _PROBE.format(heavy=list(HEAVY_MODULES), home=str(tmp_path / "home"))
    found = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, check=True,
                           capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert found.stdout.strip().splitlines()[-1] == "[]"


def test_the_generator_takes_its_inputs_and_checks_from_the_light_module() -> None:
    assert data_generator.GeneratorConfig is generator_config.GeneratorConfig
    assert data_generator.validate_config is generator_config.validate_config
    assert data_generator.FAULT_CLASSES is generator_config.FAULT_CLASSES


@pytest.mark.parametrize("users", [np.int64(1_000), np.int32(5), 7])
def test_numpy_integers_are_still_integers_to_the_checks(users: object) -> None:
    config = generator_config.GeneratorConfig(seed=np.uint8(3), users=users,  # type: ignore[arg-type]
                                              as_of=dt.date(2026, 12, 6))
    generator_config.validate_config(config)


@pytest.mark.parametrize(("users", "message"), [
    (True, "--users must be a positive integer, got True"),
    (np.float64(10), "--users must be a positive integer, got 10.0"),
    ("10", "--users must be a positive integer, got 10"),
])
def test_booleans_floats_and_text_are_not_user_counts(users: object, message: str) -> None:
    config = generator_config.GeneratorConfig(seed=1, users=users,  # type: ignore[arg-type]
                                              as_of=dt.date(2026, 12, 6))
    with pytest.raises(generator_config.GeneratorInputError) as raised:
        generator_config.validate_config(config)
    assert str(raised.value) == message
