"""Every mart built on Spark equals the DuckDB one for the same seed, users and as-of.

Same columns and types, same row count, same rows: rows are matched on every column that
is not a floating-point number (keys, strings, dates, integers, money in decimal(12,2):
exact to the cent); the floating-point columns (ratios) of matched rows must agree within
1e-9. A row left unmatched on either side is a difference.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import duckdb
from foundation.paths import REPO_ROOT
from tests.spark.conftest import EngineRuns

pytestmark = pytest.mark.spark

MARTS = sorted(p.stem for p in (REPO_ROOT / "dbt_carton_caps" / "models" / "marts").rglob("*.sql"))
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
TOLERANCE = 1e-9


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ?"
        " and table_schema = 'marts' and table_name = ? order by ordinal_position",
        [catalog, table]).fetchall()


def _differences(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, list[tuple]]:
    """Rows of one side without an equal row on the other; a sample of them."""
    columns = _columns(con, "d", table)
    exact = [f'"{name}"' for name, kind in columns if kind not in FLOAT_TYPES]
    floats = [f'"{name}"' for name, kind in columns if kind in FLOAT_TYPES]
    # rows equal in their exact part are paired in the order of their floats
    side = (f"select *, row_number() over (partition by {', '.join(exact) or '1'} "
            f"order by {', '.join(floats) or '1'}) as _n")
    join = " and ".join(f"a.{c} is not distinct from b.{c}" for c in [*exact, "_n"])
    close = " and ".join(
        f"(a.{c} is not distinct from b.{c} or abs(a.{c} - b.{c}) <= "
        f"{TOLERANCE} * greatest(1, abs(a.{c})))" for c in floats) or "true"
    query = f"""
        with a as ({side} from d.marts."{table}"), b as ({side} from s.marts."{table}")
        select a._n, b._n, {', '.join('a.' + c for c in exact[:4]) or 'null'}
        from a full outer join b on {join}
        where a._n is null or b._n is null or not ({close})
    """
    rows = con.execute(query).fetchall()
    return len(rows), rows[:5]


@pytest.fixture(scope="module")
def both(engine_runs: EngineRuns) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{engine_runs.snapshot('duckdb')}' as d (read_only)")
    con.execute(f"attach '{engine_runs.snapshot('spark')}' as s (read_only)")
    yield con
    con.close()


def test_every_mart_is_built_by_both_engines(both: duckdb.DuckDBPyConnection) -> None:
    for catalog in ("d", "s"):
        built = {row[0] for row in both.execute(
            "select table_name from information_schema.tables where table_catalog = ? and "
            "table_schema = 'marts'", [catalog]).fetchall()}
        assert built == set(MARTS), catalog


@pytest.mark.parametrize("mart", MARTS)
def test_mart_equals_duckdb(both: duckdb.DuckDBPyConnection, mart: str) -> None:
    assert _columns(both, "s", mart) == _columns(both, "d", mart)
    count_d = both.execute(f'select count(*) from d.marts."{mart}"').fetchone()[0]
    count_s = both.execute(f'select count(*) from s.marts."{mart}"').fetchone()[0]
    assert count_s == count_d
    differing, sample = _differences(both, mart)
    assert differing == 0, sample


def test_runs_diff_shows_no_data_difference(engine_runs: EngineRuns) -> None:
    result = subprocess.run(
        [sys.executable, "pipeline/runs.py", "--home", str(engine_runs.home), "diff",
         "duckdb", "spark"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    sections = result.stdout.split("\n\n")
    counts = next(s for s in sections if "row counts" in s)
    contracts = next(s for s in sections if "contract checks" in s)
    schema = next(s for s in sections if s.startswith("schema"))
    assert "no change" in counts, result.stdout
    assert "no change" in contracts, result.stdout
    # every layer, intermediate included, has the same column types on both engines
    assert "no change" in schema, result.stdout
