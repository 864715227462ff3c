"""Dashboard benchmark: render time of every page and time of its queries, on one snapshot.

    python bench/bench_dashboard.py [--home DIR | --users N --as-of YYYY-MM-DD] [--repeat N]

With ``--home`` the snapshot the home's pointer names is measured; with ``--users`` a
fresh pipeline run builds one first (``--users 1000000`` is the budget's reference size).
Each page is rendered with Streamlit's AppTest, cold (caches cleared) and warm, and its
data-access calls are timed directly (cold: per-query read-only connection included).
Baselines measured in the same run: a trivial page (``st.write(1)``) through AppTest and
``select 1`` through the same data-access path; figures are printed with ratios to them.
Budget: every page renders in <= 1 s and its queries together take <= 300 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from foundation.cli_values import positive_int
from foundation.paths import REPO_ROOT, HomePaths

APP = REPO_ROOT / "streamlit_app" / "app.py"
RENDER_BUDGET_S = 1.0
QUERY_BUDGET_S = 0.3


def page_queries(snapshot: Path, run_id: str) -> dict[str, list[Callable[[], object]]]:
    """The data-access calls each page makes with its default filters."""
    from streamlit_app import data_access as da

    def bounded(function: Callable, key: str) -> Callable[[], object]:
        def call() -> object:
            bounds = da.date_bounds(snapshot, key)
            return function(snapshot, *(bounds or (None, None)))
        return call

    return {
        "home": [lambda: da.run_manifest(run_id), lambda: da.headline_kpis(snapshot)],
        "pipeline_ops": [lambda: da.runs_frame(da.run_manifests()),
                         lambda: da.step_durations(da.run_manifests()),
                         lambda: da.log_tail(run_id)],
        "data_contracts": [lambda: da.contract_checks(snapshot),
                           lambda: da.contract_history(da.successful_runs())],
        "dbt_tests": [lambda: da.dbt_results(snapshot), lambda: da.dbt_failure_samples(snapshot),
                      lambda: da.source_freshness(run_id)],
        "schema_drift": [lambda: da.schema_of_run(run_id), lambda: da.run_manifest(run_id)],
        "lineage": [lambda: da.dbt_lineage(run_id)],
        "compare": [lambda: da.run_comparison(da.previous_successful_run(run_id) or run_id,
                                              run_id),
                    lambda: da.headline_kpis(snapshot)],
        "product": [bounded(da.daily_engagement, "engagement"),
                    bounded(da.activation_funnel, "activation"),
                    bounded(da.feature_adoption, "adoption"),
                    lambda: da.time_to_first_use(snapshot),
                    bounded(da.retention_cohorts, "retention")],
        "marketing": [bounded(da.referral_funnel, "referrals"),
                      bounded(da.referral_rejections, "referrals"),
                      bounded(da.viral_coefficient, "viral"),
                      lambda: da.top_referrers(snapshot)],
        "finance": [bounded(da.liability_daily, "liability"),
                    lambda: da.school_fundraising(snapshot),
                    lambda: da.liability_by_school(snapshot),
                    lambda: da.state_fundraising(snapshot),
                    lambda: da.redemption_forecast(snapshot),
                    lambda: da.forecast_accuracy(snapshot),
                    bounded(da.expiry_breakage, "breakage")],
    }


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def render_page(file_name: str) -> tuple[float, float, int]:
    """(cold, warm) seconds to render a page through the app; exceptions shown."""
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    st.cache_data.clear()
    if file_name != "home.py":
        at.switch_page(f"views/{file_name}")
    else:
        at.switch_page("views/home.py")
    cold = timed(at.run)
    warm = timed(at.run)
    return cold, warm, len(at.exception)


def baseline_render() -> float:
    at = AppTest.from_string("import streamlit as st\nst.write(1)\n", default_timeout=60)
    at.run()
    return statistics.median(timed(at.run) for _ in range(5))


def build_home(users: int, as_of: str, home: Path) -> None:
    from pipeline import run_pipeline

    code = run_pipeline.main(["--home", str(home), "--users", str(users), "--as-of", as_of,
                              "--run-id", f"bench{users}", "--quiet"])
    if code != 0:
        raise SystemExit(f"bench_dashboard.py: pipeline run failed with exit code {code}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_dashboard.py", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="existing home to measure")
    parser.add_argument("--users", type=positive_int, default=None,
                        help="build a snapshot of N users")
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--repeat", type=positive_int, default=3, help="query timing repetitions")
    args = parser.parse_args(argv)
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if args.home is None and args.users is None:
        print("bench_dashboard.py: error: give --home DIR or --users N", file=sys.stderr)
        return 2
    home = args.home
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
        start = time.perf_counter()
        build_home(args.users, args.as_of, home)
        print(f"built a {args.users:,}-user snapshot in {time.perf_counter() - start:.1f} s "
              f"under {home}")
    os.environ["CARTON_CAPS_HOME"] = str(home.resolve())

    from streamlit_app import data_access, ui

    choice = data_access.resolve_latest(HomePaths(home.resolve()))
    if choice.path is None or choice.run_id is None:
        print(f"bench_dashboard.py: error: no snapshot under {home}", file=sys.stderr)
        return 1
    snapshot, run_id = choice.path, choice.run_id
    size_mb = snapshot.stat().st_size / 1e6
    users = data_access.headline_kpis(snapshot).users
    print(f"snapshot {snapshot.name}: {size_mb:,.1f} MB, {users:,} users")

    def select_one() -> None:
        st.cache_data.clear()
        data_access.query(str(snapshot), "select 1")

    base_query = statistics.median(timed(select_one) for _ in range(5))
    base_render = baseline_render()
    print(f"baseline: trivial page render {base_render * 1000:.1f} ms; "
          f"'select 1' via data_access (new connection) {base_query * 1000:.1f} ms")
    print(f"{'page':<16}{'render cold':>12}{'render warm':>12}{'queries':>10}{'calls':>6}"
          f"{'x render':>10}{'x select1':>10}  budget")
    failures = 0
    queries = page_queries(snapshot, run_id)
    for _section, file_name, _title, url_path in ui.PAGE_SPECS:
        calls = queries[url_path]

        def run_queries(calls: list[Callable[[], object]] = calls) -> None:
            st.cache_data.clear()
            with data_access.render_scope():  # one connection per rerun, as in app.py
                for call in calls:
                    with contextlib.suppress(data_access.DataUnavailable):
                        call()

        query_s = statistics.median(timed(run_queries) for _ in range(args.repeat))
        cold, warm, exceptions = render_page(file_name)
        ok = cold <= RENDER_BUDGET_S and query_s <= QUERY_BUDGET_S and not exceptions
        failures += not ok
        print(f"{url_path:<16}{cold * 1000:>10.0f}ms{warm * 1000:>10.0f}ms"
              f"{query_s * 1000:>8.0f}ms{len(calls):>6}{cold / base_render:>10.1f}"
              f"{query_s / base_query:>10.1f}  {'ok' if ok else 'OVER'}"
              f"{f' ({exceptions} exceptions)' if exceptions else ''}")
    print(f"budget: render <= {RENDER_BUDGET_S:.0f} s, queries <= {QUERY_BUDGET_S * 1000:.0f} ms "
          f"per page; {failures} page(s) over budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
