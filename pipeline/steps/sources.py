"""Where a run's source files are, and the steps that land them or find them.

A run gets its sources one of three ways, chosen on the command line and planned by
:func:`pipeline.steps.plan.run_plan`:

* **generated where they land** (the default): ``generate`` writes the run's folder of the
  landing, the home's ``data/<run_id>/`` or ``--landing DIR``'s ``DIR/<run_id>/``;
* **generated, then landed in object storage** (``--landing s3://bucket/prefix``):
  ``generate`` writes the run's temporary folder, ``land`` uploads every file with its
  sha256 to ``<prefix>/<run_id>/`` and removes the local copy; the load reads the landing;
* **replayed** (``--source DIR`` or ``--source s3://bucket/prefix``): no generation;
  ``source`` finds the files already there (a previous run's folder, or exports a user
  placed there) and records each one, and the load reads them where they are.

``land`` and ``source`` record the manifest's ``sources`` (every file's URI, size, ETag
and sha256); a run generated on local disk gets it from the loader, which hashes what it
reads (:mod:`pipeline.steps.source_files`).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from foundation.source_tables import APP_DB_FILE, EVENT_EXPORT_TABLES
from pipeline.lifecycle.errors import StepError
from pipeline.lifecycle.step_types import RunConfig, RunState, StepResult
from pipeline.records.run_manifest import (
    ManifestUpdate,
    SourceFileRecord,
    SourceOrigin,
    SourcesRecord,
)
from pipeline.steps.storage_failures import one_line
from pipeline.storage.landing import SourceObject, land_run, list_sources, run_location
from pipeline.storage.uris import StorageLocation, parse_location

logger = logging.getLogger(__name__)

#: the files a run's source folder must hold (faults.json and anything else is optional)
REQUIRED_FILES = (APP_DB_FILE, *(table.file_name for table in EVENT_EXPORT_TABLES))


def landing(config: RunConfig) -> StorageLocation | None:
    """``--landing`` as a location (None: the home's ``data/``)."""
    return None if config.landing is None else parse_location(config.landing,
                                                              what="--landing")


def source_location(state: RunState) -> StorageLocation:
    """The folder or prefix the run's source files are read from."""
    config = state.config
    if config.source is not None:
        return parse_location(config.source, what="--source")
    landed = landing(config)
    if landed is None:
        return StorageLocation(path=state.paths.run_data_dir)
    return run_location(landed, config.run_id)


def generate_dir(state: RunState) -> Path:
    """Where ``generate`` writes: the landing's run folder on local disk, or the run's
    temporary folder when the files go on to object storage."""
    location = source_location(state)
    return state.paths.temp_dir if location.is_s3 else location.path or Path()


def _records(objects: tuple[SourceObject, ...], *, sent: bool = False
             ) -> tuple[SourceFileRecord, ...]:
    """The manifest's records of source objects; ``sent``: the run hashed the bytes it
    uploaded (and the store checked each request's MD5), so the digest is ``computed``."""
    return tuple(SourceFileRecord(o.name, o.uri, o.size, o.sha256, o.etag,
                                  "computed" if sent else o.sha256_from) for o in objects)


def _result(state: RunState, location: StorageLocation, origin: SourceOrigin,
            objects: tuple[SourceObject, ...]) -> StepResult:
    record = SourcesRecord(location.uri(), origin, _records(objects, sent=origin == "landed"))
    artifacts = {**state.manifest.artifacts, "data_dir": location.uri()}
    return StepResult({"location": location.uri(), "files": len(objects),
                       "bytes": sum(o.size for o in objects)},
                      manifest=ManifestUpdate(sources=record, artifacts=artifacts))


def step_land(state: RunState) -> StepResult:
    """Upload the generated files to the run's folder of the landing (each with its
    sha256; large ones in parts), then remove the local copy: from here the run reads
    the landing, like any other machine would."""
    location = source_location(state)
    local = generate_dir(state)
    with one_line("landing the sources failed: "):
        landed = land_run(local, location, home=state.paths.home)
    missing = [name for name in REQUIRED_FILES if name not in {o.name for o in landed}]
    if missing:
        raise StepError(f"{missing[0]}: the generator wrote no such file in {local}")
    shutil.rmtree(local, ignore_errors=True)  # plaintext PII: kept only in the landing
    logger.info("  landed %d files (%s bytes) in %s", len(landed),
                f"{sum(o.size for o in landed):,}", location.uri())
    return _result(state, location, "landed", landed)


def step_source(state: RunState) -> StepResult:
    """Find the source files to replay and record each one (URI, size, ETag, sha256).

    Every file the loader needs must be there (the same message as the loader's); whether
    each is well formed is the loader's preflight, at ``load_raw``: a malformed file fails
    the run there, before anything is written to the snapshot.
    """
    location = source_location(state)
    if not location.is_s3 and not (location.path and location.path.is_dir()):
        raise StepError(f"--source {location.uri()} is not a folder")
    with one_line("reading the sources failed: "):
        found = list_sources(location)
    names = {o.name for o in found}
    missing = [name for name in REQUIRED_FILES if name not in names]
    if missing:
        raise StepError(f"{missing[0]}: file not found in {location.uri()}")
    logger.info("  replaying %d files from %s", len(found), location.uri())
    return _result(state, location, "replay", found)


def remove_temp_dir(state: RunState) -> None:
    """When the run ends: its temporary folder goes (it may hold plaintext PII)."""
    temp = state.paths.temp_dir
    if temp.is_dir() and not temp.is_symlink():
        shutil.rmtree(temp, ignore_errors=True)
