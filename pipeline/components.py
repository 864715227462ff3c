"""Access to the step implementations that live outside the ``pipeline`` package.

``duckdb/load_raw.py`` cannot be imported as a package module (a ``duckdb`` package
would shadow the DuckDB library), so it is loaded from its file path once, here: every
caller (the pipeline, tests, benches) uses :func:`load_raw_module`, so there is one
``load_raw`` module and one ``LoadError`` class per process.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from collections.abc import Mapping
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


MAX_REJECT_SHARE_ENV = "CARTON_CAPS_MAX_REJECT_SHARE"


def max_reject_share(environ: Mapping[str, str] | None = None) -> float:
    """The loader's reject threshold for a pipeline run: ``$CARTON_CAPS_MAX_REJECT_SHARE``.

    A share of a table's rows (0 to 1, e.g. ``0.05`` = 5 %); unset or empty means the
    loader's default (1 %). Anything else raises ValueError with a one-line message.
    """
    raw = (os.environ if environ is None else environ).get(MAX_REJECT_SHARE_ENV, "").strip()
    if not raw:
        return float(load_raw_module().DEFAULT_MAX_REJECT_SHARE)
    try:
        share = float(raw)
    except ValueError:
        share = math.nan
    if not 0.0 <= share <= 1.0:  # also refuses nan
        raise ValueError(f"invalid {MAX_REJECT_SHARE_ENV}={raw!r}: must be a number between "
                         "0 and 1 (a share of a table's rows, e.g. 0.05 for 5 %)")
    return share
