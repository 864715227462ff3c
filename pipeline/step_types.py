"""What a run is and what its steps share: the types every step module works with.

Kept apart from :mod:`pipeline.runner` (which orders the steps and imports the step
modules) so a step module can name them without importing the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from foundation.paths import RunPaths


@dataclass(frozen=True)
class RunConfig:
    """Everything a run is parameterised by; recorded verbatim in the manifest."""

    home: Path
    run_id: str
    seed: int
    users: int
    as_of: date
    days: int
    faults: tuple[str, ...] = ()
    #: where dbt builds the project: "duckdb" (default) or "spark" (pipeline/spark_engine.py)
    engine: str = "duckdb"

    def params(self) -> dict[str, Any]:
        return {"seed": self.seed, "users": self.users, "as_of": self.as_of.isoformat(),
                "days": self.days, "faults": list(self.faults), "engine": self.engine}


@dataclass
class RunState:
    """A step's inputs: the run's configuration, its files, and the manifest so far.

    Steps read ``document`` (the results of earlier steps) and never write it: they return
    a :class:`StepResult`, which only the runner records.
    """

    config: RunConfig
    paths: RunPaths
    document: dict[str, Any]


@dataclass(frozen=True)
class StepResult:
    """What one step hands back to the runner.

    ``details`` becomes the step's entry in the manifest's ``steps``; ``manifest`` holds
    the top-level manifest sections the step produced (each replaced whole); ``warnings``
    are appended to the manifest's warnings under the step's name; ``ops`` holds the rows
    of the ``ops`` tables (declared in :mod:`foundation.ops_tables`) the step produced,
    which the runner writes into the run's snapshot, each table replaced whole.
    """

    details: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    ops: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


Step = Callable[[RunState], StepResult]
