"""The Dagster code location: ``dagster dev -m orchestration.definitions`` (``make
orchestrate``) or ``dagster asset materialize -m orchestration.definitions ...``.

The asset graph is declared from the dbt project's manifest, parsed at load time into the
home's cache (:mod:`orchestration.dbt_manifest`); the home is ``$CARTON_CAPS_HOME``, else
the repository root, as for a run.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from foundation.paths import REPO_ROOT
from foundation.run_env import HOME_ENV
from orchestration.asset_graph import build_graph
from orchestration.assets import build_run_asset
from orchestration.dbt_manifest import load_manifest
from orchestration.schedules import daily_job, daily_partitions, daily_schedule


def definitions_home() -> Path:
    """Where the definitions keep their parse: the home runs default to."""
    return Path(os.environ.get(HOME_ENV) or REPO_ROOT).expanduser().resolve()


def build_definitions(home: Path | None = None) -> dg.Definitions:
    graph = build_graph(load_manifest(home or definitions_home()))
    job = daily_job()
    return dg.Definitions(assets=[build_run_asset(graph, daily_partitions)], jobs=[job],
                          schedules=[daily_schedule(job)])


defs = build_definitions()
