"""The benchmark scripts as modules, for tests that call their functions."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from foundation.paths import REPO_ROOT

BENCH_DIR = REPO_ROOT / "bench"


def load(name: str) -> ModuleType:
    """``bench/<name>.py`` as a module: bench/ is a folder of scripts run by path, not a
    package, so it is put on the import path only while the module is imported."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH_DIR))
