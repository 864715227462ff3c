"""Which published run readers are pointed at: the one with the newest as-of date.

Runs are not always published in date order: a backfill of last month runs today, an
orchestrator catches up missed days out of order. The pointer (``duckdb/LATEST_DB.txt``,
and ``LATEST`` in an archive) therefore names the published run with the newest as-of
date, the newest run (latest start) first among equals, and a run of an older date
publishes its snapshot without moving it. One sort key says so for every publisher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: (as_of, started_at, run_id): ISO strings, so their order is the order of the run
OrderKey = tuple[str, str, str]


def order_key(as_of: str, started_at: str, run_id: str) -> OrderKey:
    """The sort key of a published run: newest as-of first, then newest start."""
    return (as_of, started_at, run_id)


def order_of(document: Mapping[str, Any]) -> OrderKey | None:
    """A manifest's sort key (None when it lacks an as-of date or a start time)."""
    params = document.get("params")
    as_of = params.get("as_of") if isinstance(params, Mapping) else None
    started = document.get("started_at")
    if not isinstance(as_of, str) or not isinstance(started, str):
        return None
    return order_key(as_of, started, str(document.get("run_id")))


def takes_the_pointer(candidate: OrderKey, served: OrderKey | None) -> bool:
    """Whether a run with ``candidate``'s key should replace the served run (None: nothing
    usable is served, so it does)."""
    return served is None or candidate >= served
