"""dbt's unit tests run once per code version, not once per run.

Unit tests test code, not data: their inputs are fixtures in the project's YAML, so a
second run of the same code would run the same fixtures through the same SQL and reach
the same result (dbt's own guidance: run them in development and CI, exclude them from
production builds). They are about a sixth of a small run's dbt time.

A run's build passes every unit test or caches nothing. When every unit test of a full
build passed, their results are kept under ``logs/dbt/.unit_test_cache/<key>.json``, the
key being the code version (:func:`pipeline.transform.parse_cache.code_version`: every
file of the dbt project, the versions of dbt, its adapters, DuckDB and PySpark) and the
engine. A later run of
the same code builds with ``--exclude-resource-type unit_test`` and adds the cached
results to its own ``run_results.json``, each still its own row with its own status and
a message naming the run that executed it; everything that reads dbt's results (the
manifest's dbt summary, dbt Test Results, the run's findings) reads them as before.

``--unit-tests always`` (``CARTON_CAPS_UNIT_TESTS``; the default when ``CI`` is set)
runs them on every build. The cache file is read as untrusted input: anything but a
well-formed record of passing unit tests for this very key is ignored, and the unit
tests run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation import untrusted_files
from foundation.paths import UNIT_TEST_CACHE_FOLDER
from foundation.run_id import RUN_ID_PATTERN
from pipeline.lifecycle.step_types import UnitTestPolicy
from pipeline.records.pointer import write_atomically
from pipeline.transform.artifacts import RUN_RESULTS, read_run_results
from pipeline.transform.parse_cache import code_version

logger = logging.getLogger(__name__)

EXCLUDE_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
_UNIT_TEST_PREFIX = "unit_test."
_UNIT_TEST_ID = re.compile(r"unit_test\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+")
_CACHE_LIMIT = 4 * 1024**2
NOT_IN_CACHE = ("not run: missing from the unit-test cache of this code version, which "
                "was discarded; the next run runs every unit test")


def default_policy(env: Mapping[str, str]) -> UnitTestPolicy:
    """``always`` in CI (every change is tested there), else ``cached``."""
    return "always" if env.get("CI", "").strip().lower() not in ("", "0", "false") else "cached"


def is_unit_test(result: Mapping[str, Any]) -> bool:
    return str(result.get("unique_id", "")).startswith(_UNIT_TEST_PREFIX)


@dataclass(frozen=True)
class UnitTestCache:
    """One code version's passing unit-test results in a home's dbt folder."""

    path: Path
    key: str
    #: the folder every read must resolve inside (the home's ``logs/dbt``)
    within: Path

    @classmethod
    def for_run(cls, dbt_dir: Path, project_dir: Path, engine_args: tuple[str, ...]
                ) -> UnitTestCache:
        """The cache of the code in ``project_dir`` as built with ``engine_args``
        (``--target spark``: the same SQL may pass on one engine and fail on another)."""
        digest = hashlib.sha256(f"code={code_version(project_dir)}\n".encode())
        digest.update(f"engine={' '.join(engine_args)}\n".encode())
        key = digest.hexdigest()[:32]
        return cls(dbt_dir.parent / UNIT_TEST_CACHE_FOLDER / f"{key}.json", key, dbt_dir.parent)

    def results(self) -> list[dict[str, Any]] | None:
        """The cached results, or None when there are none for this key (or the file is
        not a well-formed record of passing unit tests: then they simply run)."""
        if not self.path.exists():
            return None
        try:
            document = untrusted_files.read_json(self.path, home=self.within,
                                                 limit=_CACHE_LIMIT)
        except (OSError, ValueError) as exc:
            logger.warning("unit-test cache ignored: %s", exc)
            return None
        ids = _passing_ids(document, self.key)
        if ids is None:
            logger.warning("unit-test cache ignored: %s is not a record of passing unit "
                           "tests for this code", self.path.name)
            return None
        # only the ids are taken from the file; every other field is this run's own
        message = f"cached: passed in run {document['run_id']} on this code version"
        return [{"unique_id": unique_id, "status": "pass", "message": message,
                 "execution_time": 0.0, "timing": [], "failures": 0, "thread_id": "cached",
                 "adapter_response": {}, "relation_name": None, "compiled": None,
                 "compiled_code": None, "batch_results": None} for unique_id in ids]

    def discard(self) -> None:
        """Remove a record that did not match the build's unit tests (best effort)."""
        with contextlib.suppress(OSError):
            self.path.unlink()

    def store(self, target_path: Path, run_id: str) -> bool:
        """Keep a full build's unit-test results when every one of them passed; False when
        nothing was stored (one failed or none ran; a full disk: the cache only saves
        time)."""
        document = read_run_results(target_path)
        results = [r for r in (document or {}).get("results") or [] if is_unit_test(r)]
        if not results or any(r.get("status") != "pass" for r in results):
            return False
        record = {"key": self.key, "run_id": run_id,
                  "results": [{"unique_id": r["unique_id"], "status": r["status"]}
                              for r in results]}
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(record, indent=1))
            return True
        return False


def _passing_ids(document: Any, key: str) -> list[str] | None:
    """The unit-test ids a cache record holds, when it is one for ``key`` in which each
    of them passed; None for anything else."""
    if not isinstance(document, dict) or document.get("key") != key:
        return None
    run_id, results = document.get("run_id"), document.get("results")
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        return None
    if not isinstance(results, list) or not results:
        return None
    ids = []
    for result in results:
        if not (isinstance(result, dict) and result.get("status") == "pass"
                and isinstance(unique_id := result.get("unique_id"), str)
                and _UNIT_TEST_ID.fullmatch(unique_id)):
            return None
        ids.append(unique_id)
    return ids if len(set(ids)) == len(ids) else None


def reconcile(cached: list[dict[str, Any]], declared: set[str] | None
              ) -> tuple[list[dict[str, Any]], bool]:
    """The rows to report for the unit tests the build's manifest declares, and whether
    the cache listed exactly those.

    The key covers every file of the project, so a record for it lists the same unit
    tests; one that does not (edited by hand) must not make a run report fewer: a
    declared unit test it lacks is reported as skipped, never as passed, and a listed
    one the project does not declare is dropped. ``declared`` None (no manifest to
    compare with) keeps the cached rows as they are.
    """
    if declared is None:
        return cached, True
    listed = {str(row["unique_id"]) for row in cached}
    rows = [row for row in cached if row["unique_id"] in declared]
    rows += [{"unique_id": unique_id, "status": "skipped",
              "message": NOT_IN_CACHE, "execution_time": 0.0, "timing": [],
              "failures": None, "thread_id": "cached", "adapter_response": {},
              "relation_name": None, "compiled": None, "compiled_code": None,
              "batch_results": None} for unique_id in sorted(declared - listed)]
    return rows, listed == declared


def declared_unit_tests(manifest: Mapping[str, Any]) -> set[str] | None:
    """The unit tests a build's manifest declares; None when it holds no such section."""
    section = manifest.get("unit_tests")
    if not isinstance(section, dict):
        return None
    return {str(unique_id) for unique_id in section if _UNIT_TEST_ID.fullmatch(str(unique_id))}


def add_cached_results(target_path: Path, cached: list[dict[str, Any]],
                       declared: set[str] | None) -> bool:
    """Add the cached unit-test results to the build's ``run_results.json`` (which has
    none of its own: they were excluded), one row per unit test the build declares
    (:func:`reconcile`). False when the build left no results or the cache did not
    list exactly the declared unit tests."""
    document = read_run_results(target_path)
    if document is None:
        return False
    rows, matched = reconcile(cached, declared)
    own = [r for r in document.get("results") or [] if not is_unit_test(r)]
    document["results"] = [*own, *rows]
    write_atomically(target_path / RUN_RESULTS, json.dumps(document))
    return matched
