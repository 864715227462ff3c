"""Real US places for schools: ZIP codes with the city and state they belong to.

The ``zipcodes`` package ships the USPS ZIP list inside its wheel (nothing is downloaded
at run time). Schools draw a ZIP code within their state, so city, state and ZIP always
agree and big cities, which have many ZIP codes, get more schools.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import zipcodes

from generator.pools import STATES


@dataclass(frozen=True)
class ZipCodes:
    """Active standard ZIP codes of the states in ``STATES``, grouped by state."""

    zip_code: pa.Array
    city: pa.Array
    state_offset: np.ndarray  # first row of each state (index into STATES)
    state_count: np.ndarray


@lru_cache(maxsize=1)
def us_zip_codes() -> ZipCodes:
    """The ZIP table, sorted by state (in ``STATES`` order) then ZIP: deterministic."""
    state_of = {state: index for index, (state, _) in enumerate(STATES)}
    rows = sorted(
        (state_of[z["state"]], z["zip_code"], z["city"])
        for z in zipcodes.list_all()
        if z["active"] and z["zip_code_type"] == "STANDARD" and z["state"] in state_of
    )
    states = np.array([row[0] for row in rows], dtype=np.int64)
    count = np.bincount(states, minlength=len(STATES))
    if (count == 0).any():
        missing = [STATES[i][0] for i in np.flatnonzero(count == 0)]
        raise RuntimeError(f"zipcodes has no standard ZIP code for {missing}")
    return ZipCodes(
        zip_code=pa.array([row[1] for row in rows]),
        city=pa.array([row[2] for row in rows]),
        state_offset=np.concatenate([[0], np.cumsum(count)[:-1]]),
        state_count=count,
    )


def draw_zip_rows(rng: np.random.Generator, state_index: np.ndarray) -> np.ndarray:
    """One ZIP row per entry, uniform within the entry's state."""
    table = us_zip_codes()
    within = np.floor(rng.random(len(state_index)) * table.state_count[state_index])
    return table.state_offset[state_index] + within.astype(np.int64)
