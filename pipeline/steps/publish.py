"""The last step: checkpoint the snapshot, rename it into place, move the pointer.

The one step that records into the manifest itself: the pointer move and its record
happen together while signals are held back, so an interrupt can never find the pointer
moved but the run not marked published. The pointer names the published run with the
newest as-of date (:mod:`pipeline.records.publication_order`): a run of an older date (a
backfill) publishes its snapshot and leaves the pointer where it is.
"""

from __future__ import annotations

import dataclasses
import logging

import duckdb
from pipeline.lifecycle import interrupts
from pipeline.lifecycle.step_types import RunState, StepResult
from pipeline.records import integrity
from pipeline.records import manifest as manifest_io
from pipeline.records.pointer import (
    PointerError,
    fsync_dir,
    publish_lock,
    read_pointer,
    write_pointer,
)
from pipeline.records.publication_order import (
    OrderKey,
    order_key,
    order_of,
    takes_the_pointer,
)

logger = logging.getLogger(__name__)


def step_publish(state: RunState) -> StepResult:
    """Checkpoint and close, rename into place, then move the pointer under the lock."""
    paths = state.paths
    with duckdb.connect(str(paths.building_snapshot)) as con:
        con.execute("checkpoint")
    # hashed once, closed and before the lock: the rename keeps these bytes and mtime
    fingerprint = integrity.fingerprint(paths.building_snapshot)
    # an interrupt while waiting for another run's publication stops this run; once the lock
    # is held it is only recorded while the pointer moves: publication is never half done
    with publish_lock(paths), interrupts.deferred():
        try:
            previous = read_pointer(paths)
        except PointerError as exc:
            logger.warning("  warning: replacing a corrupt pointer (%s)", exc)
            previous = None
        move = takes_the_pointer(
            order_key(state.config.as_of.isoformat(), state.manifest.started_at or "",
                      state.config.run_id), _served_order(state, previous))
        paths.building_snapshot.replace(paths.snapshot)
        fsync_dir(paths.duckdb_dir)
        if move:
            try:
                write_pointer(paths, paths.snapshot.name)
            except BaseException:
                paths.snapshot.replace(paths.building_snapshot)
                raise
        else:
            logger.info("  published without moving the pointer: run %s, of a later as-of "
                        "date, stays served", previous)
        # Recorded, and saved, before signals are let through again: from here on the run is
        # published, and a kill after this point still leaves a verifiable record that the
        # next run completes (pipeline/lifecycle/sweep.py)
        manifest = state.manifest
        manifest.previous_run_id = previous
        manifest.pointer_updated = move
        manifest.published_at = manifest_io.iso(manifest_io.utc_now())
        manifest.snapshot = dataclasses.replace(fingerprint, path=str(paths.snapshot))
        try:
            manifest_io.save(paths.manifest, manifest)
        except OSError:  # a full disk: the runner's final save tries again and says so
            logger.debug("could not save the manifest right after publishing", exc_info=True)
    return StepResult({"snapshot": paths.snapshot.name, "previous_run_id": previous,
                       "pointer_moved": move})


def _served_order(state: RunState, served: str | None) -> OrderKey | None:
    """The sort key of the run the pointer names (None: none, or no usable record of it)."""
    if served is None:
        return None
    document = manifest_io.load(state.paths.run(served).manifest)
    return None if document is None else order_of(document)
