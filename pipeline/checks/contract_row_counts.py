"""Row-count rules measured in the query that already reads the table for its freshness.

A staging view deduplicates its raw relation each time it is read, so counting its rows
costs about as much as reading it: 2.0 s for the app events at 1,000,000 users. The
event-time freshness SLAs (:func:`pipeline.checks.contracts.evaluate`) read the same
tables for ``max(<event time>)`` in the same step, so a table with such an SLA has its
contract's ``rowCount`` rule counted in that query (``count(*)`` beside the ``max``)
instead of by datacontract-cli in a second pass. It is still the contract's own check:
its quality id, severity, threshold and failure message exactly as datacontract-cli
states them, with engine ``sql``.

Only rules whose meaning is plain are taken: table-level, ``type: library`` (ODCS's
default), ``metric: rowCount``, an ``id``, exactly one comparison among ``mustBe``,
``mustBeGreaterThan``, ``mustBeGreaterOrEqualTo``, ``mustBeLessThan`` and
``mustBeLessOrEqualTo`` against a whole number, and nothing that changes what is counted
(a unit, a filter, arguments, a query). Any other rowCount rule stays with
datacontract-cli.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple


class Comparison(NamedTuple):
    """An ODCS comparison as datacontract-cli writes it in a threshold, and what it means."""

    symbol: str
    holds: Callable[[int, int], bool]  # (measured, bound) -> passes


#: ODCS comparison key -> its symbol and meaning: the one table both are read from
COMPARISONS: dict[str, Comparison] = {
    "mustBe": Comparison("=", operator.eq),
    "mustBeGreaterThan": Comparison(">", operator.gt),
    "mustBeGreaterOrEqualTo": Comparison(">=", operator.ge),
    "mustBeLessThan": Comparison("<", operator.lt),
    "mustBeLessOrEqualTo": Comparison("<=", operator.le),
}
#: rule keys that describe the check without changing what is counted or compared
_DESCRIPTIVE_KEYS = {"id", "name", "type", "metric", "severity", "description",
                     "businessImpact", "tags", "customProperties", "authoritativeDefinitions"}
ROW_COUNT_METRIC = "row_count"


@dataclass(frozen=True)
class RowCountRule:
    """One contract rowCount rule taken from datacontract-cli: counted here instead."""

    table: str  # the contract's table name
    physical: str  # the relation counted
    quality_id: str
    comparison: str  # the rule's ODCS key, e.g. ``mustBeGreaterOrEqualTo``
    bound: int

    @property
    def threshold(self) -> str:
        """The threshold as datacontract-cli describes it, e.g. ``>= 1``."""
        return f"{COMPARISONS[self.comparison].symbol} {self.bound}"

    def passes(self, rows: int) -> bool:
        return COMPARISONS[self.comparison].holds(rows, self.bound)

    def failure_message(self, rows: int) -> str:
        """datacontract-cli's reason for a row count that misses the threshold."""
        return f"Actual {ROW_COUNT_METRIC}({self.physical}) was {rows}, expected {self.threshold}"


def _plain_rule(rule: dict[str, Any]) -> tuple[str, int] | None:
    """(comparison key, bound) when the rule is a plain row count this module can take."""
    if (rule.get("metric") != "rowCount" or rule.get("type", "library") != "library"
            or not isinstance(rule.get("id"), str) or not rule["id"]):
        return None
    comparisons = [key for key in rule if key.startswith("mustNot") or key.startswith("mustBe")]
    others = set(rule) - _DESCRIPTIVE_KEYS - set(comparisons)
    if others or len(comparisons) != 1 or comparisons[0] not in COMPARISONS:
        return None
    bound = rule[comparisons[0]]
    if not isinstance(bound, int) or isinstance(bound, bool):
        return None
    return comparisons[0], bound


def split_row_counts(document: dict[str, Any], tables: Iterable[str]
                     ) -> tuple[dict[str, Any], list[RowCountRule]]:
    """The contract left for datacontract-cli, and the rowCount rules of ``tables`` (the
    contract's table names) counted here. ``document`` is not changed."""
    wanted = set(tables)
    if not wanted:
        return document, []
    remaining = copy.deepcopy(document)
    taken: list[RowCountRule] = []
    for table in remaining.get("schema") or []:
        if table.get("name") not in wanted:
            continue
        kept = []
        for rule in table.get("quality") or []:
            plain = _plain_rule(rule) if isinstance(rule, dict) else None
            if plain is None:
                kept.append(rule)
                continue
            key, bound = plain
            taken.append(RowCountRule(
                table=str(table["name"]), physical=str(table.get("physicalName") or table["name"]),
                quality_id=rule["id"], comparison=key, bound=bound))
        if kept:
            table["quality"] = kept
        else:
            table.pop("quality", None)
    return remaining, taken
