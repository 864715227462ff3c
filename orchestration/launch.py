"""Start one pipeline run for one partition, the way the command line starts it.

The parameters reach the run as they reach ``run_pipeline.py``: Dagster's run config plays
the flags (it wins), then ``CARTON_CAPS_HOME``/``_USERS``/``_SEED``/``_ENGINE``, then the
defaults, all checked by the command line's own parser and rules
(:func:`pipeline.run_pipeline.config_from_args`); the partition is the as-of date. The run
is :func:`pipeline.run_pipeline.launch`: the same checks, claim, steps, publication,
pointer rule, signals, exit codes and alert as any other run, with Dagster's run id
recorded in its manifest (``orchestrator``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping

import dagster as dg
from pydantic import Field

from foundation.run_id import RunIdError, new_run_id
from pipeline import run_pipeline
from pipeline.alerts.settings import AlertSettings, AlertSettingsError
from pipeline.lifecycle.step_types import RunConfig
from pipeline.records.run_manifest import OrchestratorRef

ORCHESTRATOR = "dagster"


class PipelineRunConfig(dg.Config):
    """A run's parameters in Dagster's run config; each one given wins over its
    environment variable, as a flag does on the command line."""

    users: int | None = Field(default=None, description="--users (else $CARTON_CAPS_USERS)")
    seed: int | None = Field(default=None, description="--seed (else $CARTON_CAPS_SEED)")
    engine: str | None = Field(default=None,
                               description="--engine duckdb|spark (else $CARTON_CAPS_ENGINE)")
    home: str | None = Field(default=None, description="--home (else $CARTON_CAPS_HOME)")
    days: int | None = Field(default=None, description="--days of history")
    faults: str | None = Field(default=None, description="--faults a,b (tests, drills)")

    def argv(self, as_of: str, run_id: str) -> list[str]:
        """The command line these values stand for."""
        argv = ["--as-of", as_of, "--run-id", run_id]
        for flag, value in (("--users", self.users), ("--seed", self.seed),
                            ("--engine", self.engine), ("--home", self.home),
                            ("--days", self.days), ("--faults", self.faults)):
            if value is not None:
                argv += [flag, str(value)]
        return argv


def run_config(values: PipelineRunConfig, *, partition: str, dagster_run_id: str,
               env: Mapping[str, str] | None = None) -> RunConfig:
    """The pipeline's :class:`RunConfig` for one partition, or a Failure saying why not."""
    parser = run_pipeline.build_parser()
    parser.exit_on_error = False
    try:
        args = parser.parse_args(values.argv(partition, new_run_id()))
        config = run_pipeline.config_from_args(args, os.environ if env is None else env)
    except (argparse.ArgumentError, run_pipeline.UsageError, RunIdError) as exc:
        raise dg.Failure(f"invalid run parameters: {exc}") from None
    ref = OrchestratorRef(ORCHESTRATOR, dagster_run_id, partition)
    return dataclasses.replace(config, orchestrator=ref)


def alert_settings(env: Mapping[str, str] | None = None) -> AlertSettings:
    try:
        return AlertSettings.from_env(os.environ if env is None else env)
    except AlertSettingsError as exc:
        raise dg.Failure(f"invalid alert settings: {exc}") from None
