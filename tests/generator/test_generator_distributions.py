"""The data tells a believable story: seasonality, heavy tails, retention, viral loop."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from generator_testkit import build, connect, scalar

import duckdb
from generator.data_generator import GeneratorConfig
from generator.parameters import PARAMETERS

CONFIG = GeneratorConfig(seed=3, users=10_000, as_of=dt.date(2026, 11, 1))


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return connect(build(tmp_path_factory.mktemp("story"), CONFIG))


def test_receipts_peak_at_the_weekend(con: duckdb.DuckDBPyConnection) -> None:
    uplift = scalar(con, """
        with d as (select purchased_at::date as day, count(*) as n from receipts group by 1)
        select avg(n) filter (where dayofweek(day) in (0, 6))
             / avg(n) filter (where dayofweek(day) not in (0, 6)) from d""")
    assert 1.1 < uplift < 2.0


def test_installs_peak_at_back_to_school(con: duckdb.DuckDBPyConnection) -> None:
    def installs(start: str, end: str) -> float:
        return float(scalar(con, f"""
            select count(*) / (date '{end}' - date '{start}') from users
            where installed_at >= date '{start}' and installed_at < date '{end}'"""))

    peak = installs("2026-08-15", "2026-09-15")
    assert peak > 1.4 * installs("2026-06-01", "2026-07-15")
    assert peak > 1.4 * installs("2026-10-01", "2026-11-01")


def test_retention_decays_week_over_week(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("""
        with cohort as (
            select user_id, signed_up_at from users
            where signed_up_at < timestamp '2026-11-01' - interval 70 day),
        active as (
            select distinct e.user_id,
                   floor((epoch(e.event_time) - epoch(c.signed_up_at)) / (7 * 86400)) as week
            from app_events e join cohort c using (user_id) where e.event_name = 'app_open')
        select week, count(*) / (select count(*) from cohort) from active
        where week between 1 and 8 group by 1 order by 1""").fetchall()
    retention = [share for _, share in rows]
    assert len(retention) == 8
    assert 0.2 < retention[0] < 0.8
    assert all(later < earlier for earlier, later in itertools.pairwise(retention))
    assert retention[-1] < 0.5 * retention[0]


def test_channel_mix_is_within_the_configured_bands(con: duckdb.DuckDBPyConnection) -> None:
    shares = dict(con.execute("""
        select acquisition_channel, count(*) / (select count(*) from users)
        from users group by 1""").fetchall())
    for channel, low, high in PARAMETERS.channel_share_bands:
        assert low <= shares[channel] <= high, (channel, shares[channel])


def test_viral_coefficient_is_plausible(con: duckdb.DuckDBPyConnection) -> None:
    invites, converted, cohort = con.execute("""
        with cohort as (
            select user_id, signed_up_at from users
            where signed_up_at < timestamp '2026-11-01' - interval 30 day),
        invites as (
            select r.status from referrals r join cohort c on c.user_id = r.referrer_user_id
            where r.sent_at < c.signed_up_at + interval 30 day)
        select count(*), count(*) filter (where status = 'qualified'),
               (select count(*) from cohort) from invites""").fetchone()
    k = (invites / cohort) * (converted / invites)
    assert 0.05 <= k <= 0.8


def test_school_popularity_and_referrers_are_heavy_tailed(
        con: duckdb.DuckDBPyConnection) -> None:
    def top_decile_share(table: str, key: str) -> float:
        return float(scalar(con, f"""
            with s as (select {key}, count(*) as n from {table}
                       where {key} is not null group by 1),
            r as (select n, row_number() over (order by n desc) as rk, count(*) over () as tot
                  from s)
            select sum(n) filter (where rk <= tot * 0.1) / sum(n) from r"""))

    assert top_decile_share("users", "school_id") > 0.4
    assert top_decile_share("referrals", "referrer_user_id") > 0.3


def test_receipt_rejections_are_realistic(con: duckdb.DuckDBPyConnection) -> None:
    rate = scalar(con, "select avg((status = 'rejected')::int) from receipts")
    assert 0.04 < rate < 0.2
    assert scalar(con, """
        select avg(ocr_confidence) filter (where rejection_reason = 'blurry_image')
             < avg(ocr_confidence) filter (where status = 'accepted') - 0.3 from receipts""")
    reasons = {r[0] for r in con.execute(
        "select distinct rejection_reason from receipts where status = 'rejected'").fetchall()}
    assert reasons == {"blurry_image", "duplicate_receipt", "too_old", "unsupported_store",
                       "no_qualifying_items"}


def test_events_per_user_stay_moderate(con: duckdb.DuckDBPyConnection) -> None:
    per_user = scalar(con, "select count(*) / (select count(*) from users) from app_events")
    assert 5 < per_user < 40


def test_referral_funnel_narrows(con: duckdb.DuckDBPyConnection) -> None:
    sent, clicked, installed, qualified = con.execute("""
        select count(*), count(clicked_at), count(installed_at), count(qualified_at)
        from referrals""").fetchone()
    assert sent > clicked > installed > qualified > 0
