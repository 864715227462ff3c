"""Access to the step implementations that live outside the ``pipeline`` package.

``duckdb/load_raw.py`` cannot be imported as a package module (a ``duckdb`` package
would shadow the DuckDB library), so it is loaded from its file path once.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType

from pipeline.paths import REPO_ROOT

LOADER_PATH = REPO_ROOT / "duckdb" / "load_raw.py"


@cache
def load_raw_module() -> ModuleType:
    if "load_raw" in sys.modules:
        return sys.modules["load_raw"]
    spec = importlib.util.spec_from_file_location("load_raw", LOADER_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the raw loader from {LOADER_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_raw"] = module
    spec.loader.exec_module(module)
    return module
