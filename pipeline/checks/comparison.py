"""What changed from one run to another: the one diff ``runs.py diff`` prints and the Run
Comparison page shows (parameters, row counts, schema, contract and dbt outcomes, the
PII key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foundation.paths import HomePaths
from pipeline.checks import drift, health
from pipeline.records.manifest import find_run
from pipeline.records.pii_key import key_change, recorded_fingerprint


@dataclass(frozen=True)
class RunComparison:
    """What changed from run ``a`` to run ``b``: the one diff the CLI and the dashboard share.

    Rows are plain tuples so the CLI prints them as a table and the page as a dataframe.
    """

    run_a: str
    run_b: str
    #: (name, value in a, value in b) for the status and every parameter that differs
    params: tuple[tuple[str, Any, Any], ...]
    #: (layer.table, rows in a, rows in b, delta, change %) for every table whose count differs
    row_counts: tuple[tuple[str, int | None, int | None, int | None, float | None], ...]
    #: None when a schema snapshot is missing (``schema_missing`` names the runs)
    schema: tuple[drift.DriftChange, ...] | None
    schema_missing: tuple[str, ...]
    #: (table, column, check, status in a, status in b) for contract checks whose outcome moved
    contracts: tuple[tuple[str, str, str, str, str], ...]
    #: (node, status in a, status in b) for dbt nodes that failed or warned in either run
    dbt: tuple[tuple[str, str, str], ...]
    #: the PII key fingerprints of a and b (None: the run recorded none)
    pii_key: tuple[str | None, str | None] = (None, None)
    #: (finding, severity in a, severity in b) for findings present in only one run or of
    #: another severity ("-": not a finding of that run), by root cause
    findings: tuple[tuple[str, str, str], ...] = ()

    @property
    def pii_key_change(self) -> str | None:
        """The warning when a and b hashed PII with different keys (their hashed emails
        and phones do not join); None when the keys are the same or unknown."""
        return key_change(self.run_a, *self.pii_key)


def schema_columns(paths: HomePaths, run_id: str) -> tuple[list[dict[str, Any]] | None,
                                                             str | None]:
    """A run's schema snapshot columns, or None and why they cannot be used."""
    try:
        return drift.read_snapshot(paths.run(run_id).schema_snapshot, home=paths.home), None
    except drift.SchemaSnapshotError as exc:
        return None, str(exc)


def compare(paths: HomePaths, run_a: str, run_b: str) -> RunComparison:
    """Parameters, row counts, schema, contract and dbt outcomes that differ from a to b."""
    a, b = find_run(paths, run_a), find_run(paths, run_b)
    pa, pb = a.get("params") or {}, b.get("params") or {}
    health_a, health_b = health.of_run(paths, a), health.of_run(paths, b)
    params = [("health", health_a.status, health_b.status),
              ("published", a.get("status"), b.get("status"))]
    params += [(key, pa.get(key), pb.get(key)) for key in sorted(pa.keys() | pb.keys())
               if pa.get(key) != pb.get(key)]
    count_rows = []
    for layer in ("raw", "marts"):
        ca = (a.get("row_counts") or {}).get(layer) or {}
        cb = (b.get("row_counts") or {}).get(layer) or {}
        for table in sorted(ca.keys() | cb.keys()):
            x, y = ca.get(table), cb.get(table)
            if x == y:
                continue
            pct = None if not x or y is None else round((y - x) / x * 100, 1)
            count_rows.append((f"{layer}.{table}", x, y,
                               None if x is None or y is None else y - x, pct))
    cols_a, problem_a = schema_columns(paths, run_a)
    cols_b, problem_b = schema_columns(paths, run_b)
    missing = tuple(f"{run} ({problem})" if problem else run
                    for run, columns, problem in ((run_a, cols_a, problem_a),
                                                  (run_b, cols_b, problem_b))
                    if columns is None)
    schema = None if cols_a is None or cols_b is None else tuple(drift.diff(cols_a, cols_b))

    def failing(doc: dict[str, Any]) -> dict[tuple[str, str, str, str], str]:
        return {(r["layer"], r["table"], r.get("column") or "-", r["check"]): r["status"]
                for r in (doc.get("contracts") or {}).get("failing") or []}

    fa, fb = failing(a), failing(b)
    contracts = [(f"{k[0]}.{k[1]}", k[2], k[3], fa.get(k, "PASS"), fb.get(k, "PASS"))
                 for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)]

    def dbt_failing(doc: dict[str, Any]) -> dict[str, str]:
        return {str(f.get("unique_id")): str(f.get("status"))
                for f in (doc.get("dbt") or {}).get("failures") or []}

    da, db = dbt_failing(a), dbt_failing(b)
    dbt = [(node, da.get(node, "pass"), db.get(node, "pass"))
           for node in sorted(da.keys() | db.keys()) if da.get(node) != db.get(node)]
    found_a = {f.finding_id: f for f in health_a.findings}
    found_b = {f.finding_id: f for f in health_b.findings}
    findings = [((found_a.get(key) or found_b[key]).title,
                 found_a[key].severity if key in found_a else "-",
                 found_b[key].severity if key in found_b else "-")
                for key in sorted(found_a.keys() | found_b.keys())
                if (found_a.get(key) and found_a[key].severity)
                != (found_b.get(key) and found_b[key].severity)]
    return RunComparison(run_a, run_b, tuple(params), tuple(count_rows), schema, missing,
                         tuple(contracts), tuple(dbt),
                         (recorded_fingerprint(a), recorded_fingerprint(b)), tuple(findings))
