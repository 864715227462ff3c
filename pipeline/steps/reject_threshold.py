"""The loader's reject threshold for a pipeline run, read from the environment once."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from loader import DEFAULT_MAX_REJECT_SHARE

MAX_REJECT_SHARE_ENV = "CARTON_CAPS_MAX_REJECT_SHARE"


def max_reject_share(environ: Mapping[str, str] | None = None) -> float:
    """The loader's reject threshold for a pipeline run: ``$CARTON_CAPS_MAX_REJECT_SHARE``.

    A share of a table's rows (0 to 1, e.g. ``0.05`` = 5 %); unset or empty means the
    loader's default (1 %). Anything else raises ValueError with a one-line message.
    """
    raw = (os.environ if environ is None else environ).get(MAX_REJECT_SHARE_ENV, "").strip()
    if not raw:
        return float(DEFAULT_MAX_REJECT_SHARE)
    try:
        share = float(raw)
    except ValueError:
        share = math.nan
    if not 0.0 <= share <= 1.0:  # also refuses nan
        raise ValueError(f"invalid {MAX_REJECT_SHARE_ENV}={raw!r}: must be a number between "
                         "0 and 1 (a share of a table's rows, e.g. 0.05 for 5 %)")
    return share
