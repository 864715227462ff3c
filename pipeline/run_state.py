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
    """What earlier steps hand to later ones within one run."""

    config: RunConfig
    paths: RunPaths
    document: dict[str, Any]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


Step = Callable[[RunState], dict[str, Any]]
