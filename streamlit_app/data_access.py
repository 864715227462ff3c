"""The dashboards' only door to data: snapshot resolution, read-only connections, SQL.

Pages never build SQL or open files themselves. Every query is parameterised and cached
per snapshot file name: a snapshot never changes once published, so a cache keyed by it
can never serve stale data, and a new publish (a new name) is picked up on the next
rerun without restarting the app. Connections are opened read-only per query and closed
at once, so nothing is held open across a pipeline's publish.

Every function that reads a table declares it with ``@reads(...)``; ``READS`` maps the
function to the tables it reads, and a test keeps ``dbt_carton_caps/models/exposures.yml``
in step with the marts each page reaches through these functions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

import duckdb
from foundation.paths import HomePaths, RunPaths, default_home, snapshot_file_name
from pipeline import dbt_artifacts, drift, integrity, runs
from pipeline import manifest as manifest_io
from pipeline.pointer import PointerError, read_pointer

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: data-access function name -> the ``schema.table`` names its SQL reads
READS: dict[str, frozenset[str]] = {}

LOG_TAIL_LINES = 200
TOP_REFERRERS_LIMIT = 50
#: schools listed on the Finance page (the marts hold every school)
SCHOOL_LIMIT = 1000


def reads(*tables: str) -> Callable[[F], F]:
    """Declare the tables a data-access function reads (checked against exposures.yml)."""

    def register(function: F) -> F:
        READS[function.__name__] = frozenset(tables)
        return function

    return register


class DataUnavailable(LookupError):
    """A table the page needs is not in this snapshot (e.g. built by an older pipeline)."""


#: characters of the underlying error kept in a SnapshotUnreadable message
REASON_CHARS = 160


class SnapshotUnreadable(RuntimeError):
    """A snapshot vanished or cannot be read as a DuckDB database (deleted or corrupt after
    it was resolved): pages show an error naming it instead of a traceback."""

    def __init__(self, snapshot: Path, cause: BaseException) -> None:
        self.snapshot = snapshot
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        if len(reason) > REASON_CHARS:
            reason = reason[:REASON_CHARS] + "…"
        if isinstance(cause, integrity.UnsafeSnapshotError):
            what = f"Snapshot {cause}."
        elif snapshot.exists():
            what = f"Snapshot {snapshot.name} cannot be read ({type(cause).__name__}: {reason})."
        else:
            what = f"Snapshot {snapshot.name} was deleted while the page was reading it."
        super().__init__(f"{what} Pick another run in the sidebar, or rerun the pipeline.")


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class SnapshotChoice:
    """Which snapshot the app shows, and why (a fallback is explained to the user)."""

    run_id: str | None
    path: Path | None
    note: str | None = None


def home_paths() -> HomePaths:
    return HomePaths(default_home())


def snapshot_path(run_id: str, paths: HomePaths | None = None) -> Path:
    return (paths or home_paths()).duckdb_dir / snapshot_file_name(run_id)


def resolve_latest(paths: HomePaths | None = None) -> SnapshotChoice:
    """The pointer's snapshot; else the newest successful manifest's, saying so."""
    paths = paths or home_paths()
    try:
        run_id = read_pointer(paths)
        problem = None if run_id else "no pointer yet"
    except PointerError as exc:
        run_id, problem = None, str(exc)
    if run_id:
        return SnapshotChoice(run_id, paths.duckdb_dir / snapshot_file_name(run_id))
    fallback = manifest_io.latest_successful(paths)
    if fallback is None:
        return SnapshotChoice(None, None, None if problem == "no pointer yet" else problem)
    run_id = fallback["run_id"]
    note = f"Pointer problem ({problem}); showing the newest successful run {run_id}."
    return SnapshotChoice(run_id, paths.duckdb_dir / snapshot_file_name(run_id), note)


def successful_runs(paths: HomePaths | None = None) -> list[str]:
    """Run ids with a published snapshot on disk, newest first."""
    paths = paths or home_paths()
    runs = [doc["run_id"] for doc in manifest_io.load_all(paths)
            if doc.get("status") == "success" and manifest_io.is_published(paths, doc)]
    return list(reversed(runs))


def previous_successful_run(run_id: str, paths: HomePaths | None = None) -> str | None:
    """The successful run published just before ``run_id`` (None for the first one)."""
    paths = paths or home_paths()
    if run_id not in successful_runs(paths):
        return None
    previous = manifest_io.previous_successful(paths, run_id, published_only=True)
    return None if previous is None else previous["run_id"]


def run_manifests(paths: HomePaths | None = None) -> list[dict[str, Any]]:
    """Every readable manifest, oldest first, paths relative to the home (manifests of
    running runs change: no cache)."""
    paths = paths or home_paths()
    return [integrity.relative_paths(paths.home, doc) for doc in manifest_io.load_all(paths)]


def run_manifest(run_id: str, paths: HomePaths | None = None) -> dict[str, Any] | None:
    """One run's manifest, paths relative to the home (None if missing or unreadable)."""
    paths = paths or home_paths()
    document = manifest_io.load(RunPaths(home=paths.home, run_id=run_id).manifest)
    return None if document is None else integrity.relative_paths(paths.home, document)


def snapshot_changed_note(run_id: str, snapshot: Path,
                          paths: HomePaths | None = None) -> str | None:
    """Why the served file no longer looks like the one published (size or modification
    time differ from its manifest); None when they match or were not recorded."""
    record = (run_manifest(run_id, paths) or {}).get("snapshot")
    try:
        changes = integrity.stat_changes(snapshot, record if isinstance(record, dict) else {})
    except OSError:
        return None  # gone: the page says so when it opens the snapshot
    if not changes:
        return None
    return (f"Snapshot {snapshot.name} changed on disk since it was published "
            f"({'; '.join(changes)}). Check it with `python pipeline/runs.py verify {run_id}`.")


def log_tail(run_id: str, lines: int = LOG_TAIL_LINES,
             paths: HomePaths | None = None) -> str | None:
    """The last ``lines`` lines of ``logs/pipeline_<run_id>.log`` (None if there is none)."""
    paths = paths or home_paths()
    log = RunPaths(home=paths.home, run_id=run_id).log
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return integrity.relative_paths(paths.home, "\n".join(text.splitlines()[-lines:]))


# --------------------------------------------------------------------------- querying


#: DuckDB threads per read connection: dashboard queries read small aggregate marts
READ_THREADS = 2
_scope = threading.local()


def _open(snapshot: Path) -> duckdb.DuckDBPyConnection:
    """Read-only connection; a snapshot name that is a symbolic link is never followed."""
    integrity.checked_snapshot(snapshot.parent, snapshot.name)
    return duckdb.connect(str(snapshot), read_only=True, config={"threads": READ_THREADS})


@contextlib.contextmanager
def render_scope() -> Iterator[None]:
    """Share one read-only connection per snapshot for one script run, then close it.

    app.py wraps each rerun in this scope, so a page's queries reuse one connection
    instead of paying a connect per query, and no connection outlives the rerun (a
    pipeline publishing meanwhile is never blocked and the next rerun sees it).
    """
    previous = getattr(_scope, "connections", None)
    _scope.connections = {}
    try:
        yield
    finally:
        connections, _scope.connections = _scope.connections, previous
        for con in connections.values():
            con.close()


@contextlib.contextmanager
def connect_read_only(snapshot: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection: the rerun's shared one inside ``render_scope``, else a new one
    closed on exit."""
    connections = getattr(_scope, "connections", None)
    if connections is None:
        con = _open(snapshot)
        try:
            yield con
        finally:
            con.close()
        return
    key = str(snapshot)
    if key not in connections:
        connections[key] = _open(snapshot)
    yield connections[key]


@st.cache_data(max_entries=512, show_spinner=False)
def query(snapshot: str, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """Run one parameterised query against a snapshot file (cached per file + SQL)."""
    with connect_read_only(Path(snapshot)) as con:
        return con.execute(sql, list(params)).df()


@st.cache_data(max_entries=64, show_spinner=False)
def snapshot_tables(snapshot: str) -> frozenset[str]:
    """``schema.table`` of every table and view in a snapshot."""
    with connect_read_only(Path(snapshot)) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    return frozenset(row[0] for row in rows)


#: errors reading a snapshot file raises once it was resolved (deleted, truncated, garbage)
READ_ERRORS: tuple[type[BaseException], ...] = (duckdb.Error, OSError,
                                                integrity.UnsafeSnapshotError)


def check_snapshot(snapshot: Path) -> frozenset[str]:
    """The snapshot's tables; ``SnapshotUnreadable`` if it cannot be opened and listed."""
    try:
        return snapshot_tables(str(snapshot))
    except READ_ERRORS as exc:
        raise SnapshotUnreadable(snapshot, exc) from exc


def has_table(snapshot: Path, table: str) -> bool:
    return table in check_snapshot(snapshot)


def _read(snapshot: Path, table: str, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    if not has_table(snapshot, table):
        raise DataUnavailable(
            f"{table} is not in snapshot {snapshot.name} (built before that table existed)."
        )
    try:
        return query(str(snapshot), sql, params)
    except READ_ERRORS as exc:
        raise SnapshotUnreadable(snapshot, exc) from exc


def _between(start: date | None, end: date | None) -> tuple[date, date]:
    return (start or date(1900, 1, 1), end or date(9999, 12, 31))


# --------------------------------------------------------------------------- home / KPIs


@dataclass(frozen=True)
class Kpis:
    """Headline figures of one snapshot (None where the mart is missing or empty)."""

    users: int | None
    dau: int | None
    dau_date: date | None
    dollars_raised: float | None
    reward_liability: float | None
    expiring_90d: float | None
    k_factor: float | None
    forecast_4w: float | None = None


@reads("marts.dim_users", "marts.mart_daily_engagement", "marts.mart_school_fundraising",
       "marts.mart_reward_liability_daily", "marts.mart_expiry_outlook",
       "marts.mart_viral_coefficient", "marts.mart_redemption_forecast_totals")
def headline_kpis(snapshot: Path) -> Kpis:
    """Users, latest DAU, dollars raised, current liability, what expires in the next 90
    days, overall K and the redemptions forecast for the next 4 weeks of a snapshot."""

    def scalar(table: str, sql: str) -> Any:
        try:
            frame = _read(snapshot, table, sql)
        except DataUnavailable:
            return None
        if frame.empty:
            return None
        value = frame.iloc[0, 0]
        return None if pd.isna(value) else value

    users = scalar("marts.dim_users", "select count(*) from marts.dim_users")
    latest = scalar("marts.mart_daily_engagement",
                    "select max(activity_date) from marts.mart_daily_engagement")
    dau = scalar("marts.mart_daily_engagement",
                 "select dau from marts.mart_daily_engagement "
                 "where activity_date = (select max(activity_date) "
                 "from marts.mart_daily_engagement)")
    raised = scalar("marts.mart_school_fundraising",
                    "select sum(dollars_raised) from marts.mart_school_fundraising")
    liability = scalar("marts.mart_reward_liability_daily",
                       "select liability_dollars from marts.mart_reward_liability_daily "
                       "where balance_date = (select max(balance_date) "
                       "from marts.mart_reward_liability_daily)")
    expiring = scalar("marts.mart_expiry_outlook",
                      "select expiring_90d_dollars from marts.mart_expiry_outlook")
    k_factor = scalar("marts.mart_viral_coefficient",
                      "select sum(qualified_referred_users) / nullif(sum(cohort_users), 0) "
                      "from marts.mart_viral_coefficient where is_cohort_complete")
    forecast = scalar("marts.mart_redemption_forecast_totals",
                      "select forecast_dollars from marts.mart_redemption_forecast_totals "
                      "where horizon_weeks = 4")
    return Kpis(
        users=None if users is None else int(users),
        dau=None if dau is None else int(dau),
        dau_date=None if latest is None else pd.Timestamp(latest).date(),
        dollars_raised=None if raised is None else float(raised),
        reward_liability=None if liability is None else float(liability),
        expiring_90d=None if expiring is None else float(expiring),
        k_factor=None if k_factor is None else float(k_factor),
        forecast_4w=None if forecast is None else float(forecast),
    )


# --------------------------------------------------------------------------- date bounds

#: page filter key -> (table, fixed SQL of the earliest and latest date that bounds the filter)
DATE_BOUNDS: dict[str, tuple[str, str]] = {
    "engagement": ("marts.mart_daily_engagement",
                   "select min(activity_date)::date, max(activity_date)::date "
                   "from marts.mart_daily_engagement"),
    "activation": ("marts.mart_activation_funnel",
                   "select min(install_week)::date, max(install_week)::date "
                   "from marts.mart_activation_funnel"),
    "adoption": ("marts.mart_feature_adoption_weekly",
                 "select min(activity_week)::date, max(activity_week)::date "
                 "from marts.mart_feature_adoption_weekly"),
    "retention": ("marts.mart_retention_cohorts",
                  "select min(signup_week)::date, max(signup_week)::date "
                  "from marts.mart_retention_cohorts"),
    "referrals": ("marts.mart_referral_funnel_weekly",
                  "select min(sent_week)::date, max(sent_week)::date "
                  "from marts.mart_referral_funnel_weekly"),
    "viral": ("marts.mart_viral_coefficient",
              "select min(signup_week)::date, max(signup_week)::date "
              "from marts.mart_viral_coefficient"),
    "liability": ("marts.mart_reward_liability_daily",
                  "select min(balance_date)::date, max(balance_date)::date "
                  "from marts.mart_reward_liability_daily"),
    "breakage": ("marts.mart_expiry_breakage",
                 "select min(month_start)::date, max(month_start)::date "
                 "from marts.mart_expiry_breakage"),
}


def date_bounds(snapshot: Path, key: str) -> tuple[date, date] | None:
    """Earliest and latest date of one filterable mart column (None if empty/missing)."""
    table, sql = DATE_BOUNDS[key]
    frame = _read(snapshot, table, sql)
    low, high = frame.iloc[0, 0], frame.iloc[0, 1]
    if pd.isna(low) or pd.isna(high):
        return None
    return pd.Timestamp(low).date(), pd.Timestamp(high).date()


# --------------------------------------------------------------------------- product


@reads("marts.mart_daily_engagement")
def daily_engagement(snapshot: Path, start: date | None = None,
                     end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_daily_engagement",
                 "select activity_date, dau, wau, mau, stickiness "
                 "from marts.mart_daily_engagement "
                 "where activity_date between ? and ? order by activity_date",
                 _between(start, end))


@reads("marts.mart_activation_funnel")
def activation_funnel(snapshot: Path, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_activation_funnel",
                 "select * from marts.mart_activation_funnel "
                 "where install_week between ? and ? order by install_week, stage_order",
                 _between(start, end))


@reads("marts.mart_activation_stage_reach")
def activation_stage_reach(snapshot: Path, start: date | None = None,
                           end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_activation_stage_reach",
                 "select * from marts.mart_activation_stage_reach "
                 "where install_week between ? and ? order by install_week, stage_order",
                 _between(start, end))


@reads("marts.mart_feature_adoption_weekly")
def feature_adoption(snapshot: Path, start: date | None = None,
                     end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_feature_adoption_weekly",
                 "select * from marts.mart_feature_adoption_weekly "
                 "where activity_week between ? and ? order by activity_week, feature",
                 _between(start, end))


@reads("marts.mart_time_to_first_use")
def time_to_first_use(snapshot: Path) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_time_to_first_use",
                 "select * from marts.mart_time_to_first_use order by feature")


@reads("marts.mart_retention_cohorts")
def retention_cohorts(snapshot: Path, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_retention_cohorts",
                 "select * from marts.mart_retention_cohorts "
                 "where signup_week between ? and ? order by signup_week, weeks_since_signup",
                 _between(start, end))


# --------------------------------------------------------------------------- marketing


@reads("marts.mart_referral_funnel_weekly")
def referral_funnel(snapshot: Path, start: date | None = None,
                    end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_referral_funnel_weekly",
                 "select * from marts.mart_referral_funnel_weekly "
                 "where sent_week between ? and ? order by sent_week, channel",
                 _between(start, end))


@reads("marts.mart_referral_rejections")
def referral_rejections(snapshot: Path, start: date | None = None,
                        end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_referral_rejections",
                 "select * from marts.mart_referral_rejections "
                 "where sent_week between ? and ? order by sent_week, channel",
                 _between(start, end))


@reads("marts.mart_viral_coefficient")
def viral_coefficient(snapshot: Path, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_viral_coefficient",
                 "select * from marts.mart_viral_coefficient "
                 "where signup_week between ? and ? order by signup_week",
                 _between(start, end))


@reads("marts.mart_top_referrers")
def top_referrers(snapshot: Path, limit: int = TOP_REFERRERS_LIMIT) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_top_referrers",
                 "select * from marts.mart_top_referrers order by referrer_rank limit ?", (limit,))


# --------------------------------------------------------------------------- finance


@reads("marts.mart_reward_liability_daily")
def liability_daily(snapshot: Path, start: date | None = None,
                    end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_reward_liability_daily",
                 "select * from marts.mart_reward_liability_daily "
                 "where balance_date between ? and ? order by balance_date",
                 _between(start, end))


@reads("marts.mart_reward_liability_by_school", "marts.mart_school_fundraising")
def liability_by_school(snapshot: Path, limit: int = SCHOOL_LIMIT) -> pd.DataFrame:
    """The ``limit`` schools with the largest liability on the mart's latest balance date,
    with every column of the mart (ageing buckets included when the mart has them), the
    school's name when the snapshot has ``mart_school_fundraising``, and ``schools_total``
    (schools with a balance that day)."""
    if not has_table(snapshot, "marts.mart_school_fundraising"):
        return _read(snapshot, "marts.mart_reward_liability_by_school",
                     "select *, count(*) over () as schools_total "
                     "from marts.mart_reward_liability_by_school "
                     "where balance_date = (select max(balance_date) "
                     "from marts.mart_reward_liability_by_school) "
                     "order by liability_dollars desc, school_id limit ?", (limit,))
    return _read(snapshot, "marts.mart_reward_liability_by_school",
                 "with latest as (select *, count(*) over () as schools_total "
                 "from marts.mart_reward_liability_by_school "
                 "where balance_date = (select max(balance_date) "
                 "from marts.mart_reward_liability_by_school) "
                 "order by liability_dollars desc, school_id limit ?) "
                 "select latest.balance_date, latest.school_id, names.school_name, "
                 "latest.* exclude (balance_date, school_id) "
                 "from latest left join marts.mart_school_fundraising as names "
                 "on names.school_id = latest.school_id "
                 "order by latest.liability_dollars desc, latest.school_id", (limit,))


@reads("marts.mart_school_fundraising")
def school_fundraising(snapshot: Path, limit: int = SCHOOL_LIMIT) -> pd.DataFrame:
    """The ``limit`` schools that raised the most (``schools_total`` = all schools)."""
    return _read(snapshot, "marts.mart_school_fundraising",
                 "select *, count(*) over () as schools_total "
                 "from marts.mart_school_fundraising "
                 "order by dollars_raised desc, school_id limit ?", (limit,))


@reads("marts.mart_state_fundraising")
def state_fundraising(snapshot: Path) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_state_fundraising",
                 "select * from marts.mart_state_fundraising order by state")


@reads("marts.mart_redemption_forecast")
def redemption_forecast(snapshot: Path) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_redemption_forecast",
                 "select * from marts.mart_redemption_forecast order by week_start")


@reads("marts.mart_redemption_forecast_accuracy")
def forecast_accuracy(snapshot: Path) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_redemption_forecast_accuracy",
                 "select * from marts.mart_redemption_forecast_accuracy")


@reads("marts.mart_redemption_forecast_totals")
def forecast_totals(snapshot: Path) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_redemption_forecast_totals",
                 "select * from marts.mart_redemption_forecast_totals order by horizon_weeks")


@reads("marts.mart_redemption_forecast_backtest")
def forecast_backtest(snapshot: Path) -> pd.DataFrame:
    """Every candidate model's back-test errors, best first."""
    return _read(snapshot, "marts.mart_redemption_forecast_backtest",
                 "select * from marts.mart_redemption_forecast_backtest "
                 "order by wape nulls last, model_name")


@reads("marts.mart_expiry_outlook")
def expiry_outlook(snapshot: Path) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_expiry_outlook",
                 "select * from marts.mart_expiry_outlook")


@reads("marts.mart_expiry_outlook_by_school")
def expiry_outlook_by_school(snapshot: Path, limit: int = SCHOOL_LIMIT) -> pd.DataFrame:
    """The ``limit`` schools with the most dollars expiring in the next 90 days
    (``schools_total`` = schools with any unspent credit)."""
    return _read(snapshot, "marts.mart_expiry_outlook_by_school",
                 "select *, count(*) over () as schools_total "
                 "from marts.mart_expiry_outlook_by_school "
                 "order by expiring_90d_dollars desc, school_id limit ?", (limit,))


@reads("marts.mart_expiry_breakage")
def expiry_breakage(snapshot: Path, start: date | None = None,
                    end: date | None = None) -> pd.DataFrame:
    return _read(snapshot, "marts.mart_expiry_breakage",
                 "select * from marts.mart_expiry_breakage "
                 "where month_start between ? and ? order by month_start",
                 _between(start, end))


# --------------------------------------------------------------------------- ops tables


#: ops.contract_results as the pages read it: the check's name as ``check`` and its
#: measured value as ``measured_value``, then the table's other columns
CONTRACT_CHECKS_SQL = (
    'select table_name, owner, check_name as "check", check_type, column_name, '
    "measured as measured_value, threshold, severity, status, message, run_id, contract_id, "
    "layer, engine, evaluated_at from ops.contract_results"
)


@reads("ops.contract_results")
def contract_checks(snapshot: Path) -> pd.DataFrame:
    """One row per contract check of the run, columns normalised (status PASS/WARN/FAIL)."""
    frame = _read(snapshot, "ops.contract_results", CONTRACT_CHECKS_SQL)
    frame["status"] = frame["status"].astype("string").str.upper()
    for column in ("measured_value", "threshold"):
        frame[column] = frame[column].astype("string")
    return frame


@reads("ops.contract_results")
def contract_history(run_ids: list[str]) -> pd.DataFrame:
    """Check outcomes per run (run_id, started_at, table, check, status, checks)."""
    manifests = {doc["run_id"]: doc for doc in run_manifests()}
    frames = []
    for run_id in run_ids:
        try:
            frame = contract_checks(snapshot_path(run_id))
        except DataUnavailable:
            continue
        except SnapshotUnreadable as exc:
            logger.warning("contract history skips run %s: %s", run_id, exc)
            continue
        frame = (frame.groupby(["table_name", "check", "status"], dropna=False,
                               as_index=False).size().rename(columns={"size": "checks"}))
        frame.insert(0, "started_at", (manifests.get(run_id) or {}).get("started_at"))
        frame.insert(0, "run_id", run_id)
        frames.append(frame)
    columns = ["run_id", "started_at", "table_name", "check", "status", "checks"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def failure_sample_rows(samples: pd.DataFrame, unique_id: str) -> pd.DataFrame:
    """The stored failing rows of one test, one column per field of the row."""
    rows = samples[samples["unique_id"] == unique_id]
    if "row_number" in rows.columns:
        rows = rows.sort_values("row_number")
    if "row_json" not in rows.columns:
        return rows.reset_index(drop=True)
    records = []
    for text in rows["row_json"]:
        try:
            value = json.loads(text) if isinstance(text, str) else {}
        except ValueError:
            value = {"row_json": text}
        records.append(value if isinstance(value, dict) else {"value": value})
    return pd.DataFrame(records)


#: the columns of a dbt result frame, in order (ops.dbt_results' other columns follow)
DBT_COLUMNS: tuple[str, ...] = ("unique_id", "resource_type", "name", "status",
                                "execution_time_s", "failures", "message")
DBT_RESULTS_SQL = (
    "select unique_id, resource_type, name, status, execution_time_s, failures, message, "
    "run_id, compiled_sql, relation_name, started_at, completed_at, invocation "
    "from ops.dbt_results"
)


@reads("ops.dbt_results")
def dbt_results(snapshot: Path) -> pd.DataFrame:
    """One row per dbt node result of the run (models, tests, unit tests), normalised."""
    frame = _read(snapshot, "ops.dbt_results", DBT_RESULTS_SQL)
    return _finish_dbt_frame(frame)


def _finish_dbt_frame(frame: pd.DataFrame) -> pd.DataFrame:
    ids = frame["unique_id"].astype("string")
    frame["resource_type"] = frame["resource_type"].fillna(ids.str.split(".").str[0])
    frame["name"] = frame["name"].fillna(ids.str.split(".").str[2:].str.join("."))
    frame["status"] = frame["status"].astype("string").str.lower()
    frame["execution_time_s"] = pd.to_numeric(frame["execution_time_s"], errors="coerce")
    return frame


@reads("ops.dbt_test_failure_samples")
def dbt_failure_samples(snapshot: Path) -> pd.DataFrame:
    return _read(snapshot, "ops.dbt_test_failure_samples",
                 "select * from ops.dbt_test_failure_samples")


@reads("ops.schema_columns")
def schema_columns_table(snapshot: Path) -> pd.DataFrame:
    """The snapshot's own column list, named like ``schema_of_run``'s frame."""
    frame = _read(snapshot, "ops.schema_columns", "select * from ops.schema_columns")
    return frame.rename(columns={"schema_name": "table_schema", "is_nullable": "nullable",
                                 "ordinal_position": "ordinal"})


# --------------------------------------------------------------------------- run files


ABANDONED = "abandoned"


def run_status(document: dict[str, Any]) -> str | None:
    """The manifest's status, or ``abandoned`` for a ``running`` run whose process is gone on
    this host (killed with SIGKILL: it can never finish; the next pipeline run sweeps it)."""
    status = document.get("status")
    if status == "running" and not manifest_io.is_running(document):
        return ABANDONED
    return status


def last_step(document: dict[str, Any]) -> str | None:
    """Name of the last step a manifest records (None if it records none)."""
    steps = document.get("steps")
    last = steps[-1] if isinstance(steps, list) and steps else None
    name = last.get("name") if isinstance(last, dict) else None
    return None if name is None else str(name)


def abandoned_note(document: dict[str, Any]) -> str:
    """Why a run is shown as abandoned."""
    step = last_step(document)
    return (f"Run {document.get('run_id')} was abandoned at step {step or '-'}: its manifest "
            f"still says running, but its process (pid {document.get('pid')} on "
            f"{document.get('host')}) is gone. The next pipeline run marks it interrupted.")


def runs_frame(manifests: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run from its manifest: status, timing, rows, dbt and contract counts."""
    rows = []
    for doc in manifests:
        counts = doc.get("row_counts") or {}
        dbt = doc.get("dbt") or {}
        contracts = doc.get("contracts") or {}
        summary = contracts.get("summary", contracts) if isinstance(contracts, dict) else {}
        params = doc.get("params") or {}
        rows.append({
            "run_id": doc.get("run_id"),
            "status": run_status(doc),
            "started_at": pd.to_datetime(doc.get("started_at"), utc=True, errors="coerce"),
            "duration_s": doc.get("duration_s"),
            "users": params.get("users"),
            "as_of": params.get("as_of"),
            "faults": ",".join(params.get("faults") or []),
            "raw_rows": sum((counts.get("raw") or {}).values()),
            "mart_rows": sum((counts.get("marts") or {}).values()),
            "dbt_pass": dbt.get("pass"),
            "dbt_warn": dbt.get("warn"),
            "dbt_error": dbt.get("error"),
            "contract_fail": _count(summary, "FAIL"),
            "contract_warn": _count(summary, "WARN"),
            "failed_step": doc.get("failed_step"),
            "error": doc.get("error"),
            "pointer_updated": doc.get("pointer_updated"),
        })
    return pd.DataFrame(rows)


def _count(summary: Any, status: str) -> int | None:
    if not isinstance(summary, dict):
        return None
    for key in (status, status.lower()):
        if key in summary and isinstance(summary[key], int | float):
            return int(summary[key])
    return None


def step_durations(manifests: list[dict[str, Any]]) -> pd.DataFrame:
    """Long table: one row per run and step with its duration and status."""
    rows = [
        {"run_id": doc.get("run_id"), "started_at": doc.get("started_at"),
         "step": step.get("name"), "duration_s": step.get("duration_s"),
         "status": step.get("status")}
        for doc in manifests for step in doc.get("steps") or []
    ]
    return pd.DataFrame(rows, columns=["run_id", "started_at", "step", "duration_s", "status"])


def run_failures(manifests: list[dict[str, Any]]) -> pd.DataFrame:
    """Runs that did not succeed (abandoned ones included), with the failing step and error."""
    rows = []
    for doc in manifests:
        status = run_status(doc)
        if status in ("success", "running"):
            continue
        step, error = doc.get("failed_step"), doc.get("error")
        if status == ABANDONED:
            step = step or last_step(doc)
            error = error or (f"process {doc.get('pid')} on {doc.get('host')} ended without "
                              "finishing the run")
        rows.append({"run_id": doc.get("run_id"), "status": status,
                     "started_at": doc.get("started_at"), "failed_step": step,
                     "error": error})
    return pd.DataFrame(rows, columns=["run_id", "status", "started_at", "failed_step", "error"])


def dbt_run_results_file(run_id: str, paths: HomePaths | None = None) -> pd.DataFrame | None:
    """Per-node results from the run's ``run_results.json`` (older snapshots' fallback)."""
    paths = paths or home_paths()
    target = RunPaths(home=paths.home, run_id=run_id).dbt_dir / "target"
    document = dbt_artifacts.read_run_results(target)
    if document is None:
        return None
    rows = [
        {"unique_id": r.get("unique_id"), "resource_type": None, "name": None,
         "status": r.get("status"), "execution_time_s": r.get("execution_time"),
         "failures": r.get("failures"), "message": r.get("message")}
        for r in document.get("results", [])
    ]
    return _finish_dbt_frame(pd.DataFrame(rows, columns=list(DBT_COLUMNS)))


def source_freshness(run_id: str, paths: HomePaths | None = None) -> pd.DataFrame:
    """``dbt source freshness`` results recorded in the run's manifest."""
    document = run_manifest(run_id, paths) or {}
    results = (document.get("freshness") or {}).get("results") or []
    columns = ["unique_id", "status", "max_loaded_at", "snapshotted_at", "age_s"]
    frame = pd.DataFrame(results, columns=columns)
    frame.insert(1, "source", frame["unique_id"].astype("string").str.split(".").str[2:]
                 .str.join("."))
    frame["age_hours"] = pd.to_numeric(frame["age_s"], errors="coerce") / 3600
    return frame


@st.cache_data(max_entries=64, show_spinner=False)
def _schema_file(path: str, mtime_ns: int) -> pd.DataFrame | None:
    columns = drift.read_snapshot(Path(path))  # the pipeline's one reader of the file
    if columns is None:
        return None
    frame = pd.DataFrame(columns)
    if frame.empty:
        return frame
    return frame.rename(columns={"schema": "table_schema", "table": "table_name",
                                 "column": "column_name", "type": "data_type"})


def schema_of_run(run_id: str, paths: HomePaths | None = None) -> pd.DataFrame | None:
    """Columns of a run's ``logs/schema_<run_id>.json`` (None if it has none)."""
    paths = paths or home_paths()
    path = RunPaths(home=paths.home, run_id=run_id).schema_snapshot
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _schema_file(str(path), mtime)


# --------------------------------------------------------------------------- lineage, comparison


@st.cache_data(max_entries=16, show_spinner=False)
def _lineage(target: str, mtime_ns: int) -> dict[str, dbt_artifacts.LineageNode]:
    return dbt_artifacts.lineage(dbt_artifacts.load(Path(target)))


def dbt_lineage(run_id: str, paths: HomePaths | None = None
                ) -> dict[str, dbt_artifacts.LineageNode] | None:
    """The run's dbt graph from its own ``logs/dbt/<run_id>/target/manifest.json`` (read by
    pipeline.dbt_artifacts, the one reader of dbt's artefacts); None if it kept none."""
    paths = paths or home_paths()
    target = RunPaths(home=paths.home, run_id=run_id).dbt_dir / "target"
    try:
        mtime = (target / "manifest.json").stat().st_mtime_ns
    except OSError:
        return None
    graph = _lineage(str(target), mtime)
    return graph or None


def run_comparison(run_a: str, run_b: str,
                   paths: HomePaths | None = None) -> runs.RunComparison:
    """The pipeline's own diff of two runs (the one ``runs.py diff`` prints)."""
    return runs.compare(paths or home_paths(), run_a, run_b)
