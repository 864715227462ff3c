"""What a run is and what its steps share: the types every step module works with.

Kept apart from :mod:`pipeline.lifecycle.runner` (which runs a plan of steps) so that a
step module can name them without importing the runner, and the runner knows no step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

from foundation.paths import RunPaths
from pipeline.records.run_manifest import (
    ManifestUpdate,
    OrchestratorRef,
    RunManifest,
    RunParams,
)

#: one row of an ``ops`` table, by column name (foundation/ops_tables.py declares them)
OpsRow = Mapping[str, Any]
#: when dbt's unit tests run (pipeline/transform/unit_test_cache.py): ``cached``, once per
#: code version, or ``always``, on every build; the values ``--unit-tests`` and
#: ``CARTON_CAPS_UNIT_TESTS`` accept are these and only these
UnitTestPolicy = Literal["cached", "always"]
UNIT_TEST_POLICIES: tuple[UnitTestPolicy, ...] = get_args(UnitTestPolicy)


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
    #: where dbt builds the project: "duckdb" (default) or "spark" (pipeline/steps/spark.py)
    engine: str = "duckdb"
    #: locations as the command line gave them, already checked
    #: (pipeline/storage/uris.py): files to replay instead of generating (``--source``),
    #: where generated files land when not the home's ``data/`` (``--landing``), and the
    #: archive the published run is uploaded to (``--archive``)
    source: str | None = None
    landing: str | None = None
    archive: str | None = None
    #: the orchestrator run that started this one (Dagster), recorded from the claim on
    orchestrator: OrchestratorRef | None = None
    #: when dbt's unit tests run (:data:`UnitTestPolicy`)
    unit_tests: UnitTestPolicy = "cached"

    def params(self) -> RunParams:
        return RunParams(seed=self.seed, users=self.users, as_of=self.as_of.isoformat(),
                         days=self.days, faults=self.faults, engine=self.engine,
                         source=self.source, landing=self.landing, archive=self.archive)


@dataclass
class RunState:
    """A step's inputs: the run's configuration, its files, and the manifest so far.

    Steps read ``manifest`` (the results of earlier steps) and never write it: they
    return a :class:`StepResult`, which only the runner records.
    """

    config: RunConfig
    paths: RunPaths
    manifest: RunManifest


@dataclass(frozen=True)
class StepResult:
    """What one step hands back to the runner.

    ``details`` becomes the step's entry in the manifest's ``steps``; ``manifest`` holds
    the sections the step produced (each replaced whole); ``warnings`` are appended to
    the manifest's warnings under the step's name; ``ops`` holds the rows of the ``ops``
    tables the step produced, by column name, which the runner writes into the run's
    snapshot, each table replaced whole.
    """

    details: dict[str, Any] = field(default_factory=dict)
    manifest: ManifestUpdate = field(default_factory=ManifestUpdate)
    warnings: tuple[str, ...] = ()
    ops: dict[str, Sequence[OpsRow]] = field(default_factory=dict)


Step = Callable[[RunState], StepResult]


@dataclass(frozen=True)
class RunPlan:
    """What a run executes, chosen per engine by :func:`pipeline.steps.run_plan`.

    ``steps`` in order; ``warm_up`` starts, before the first step, work that later steps
    need and that may overlap the earlier ones (dbt's worker); ``finish`` always runs when
    the run ends, whatever the outcome, to stop what the steps left running; ``conclude``
    runs last, once the run's status is known, and returns what the manifest should add
    to say how the run ended (a failed run's health).
    """

    steps: tuple[tuple[str, Step], ...]
    warm_up: Callable[[RunState], None] | None = None
    finish: Callable[[RunState], None] | None = None
    conclude: Callable[[RunState], ManifestUpdate] | None = None

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(name for name, _step in self.steps)
