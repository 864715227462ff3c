"""Referential integrity, causal order and the as-of cut-off, checked with SQL over the files."""

from __future__ import annotations

import datetime as dt

import pytest
from generator_testkit import AS_OF, TINY, build, connect, scalar

import duckdb
from foundation.source_tables import SOURCE_TABLES
from generator.data_generator import GeneratorConfig

MEDIUM = GeneratorConfig(seed=11, users=3_000, as_of=dt.date(2026, 3, 15), days=400)


@pytest.fixture(scope="module", params=["tiny", "medium"])
def con(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> duckdb.DuckDBPyConnection:
    config = TINY if request.param == "tiny" else MEDIUM
    connection = connect(build(tmp_path_factory.mktemp(request.param), config))
    end = dt.datetime.combine(config.as_of, dt.time())
    start = end - dt.timedelta(days=config.days)
    connection.execute(f"create table bounds as select timestamp '{start}' as start_at, "
                       f"timestamp '{end}' as end_at")
    return connection


def _violations(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(scalar(con, f"select count(*) from ({sql})"))


def test_every_foreign_key_resolves(con: duckdb.DuckDBPyConnection) -> None:
    for spec in SOURCE_TABLES:
        for fk in spec.foreign_keys:
            orphans = _violations(con, f"""
                select 1 from {spec.name} c
                where c.{fk.column} is not null and not exists (
                    select 1 from {fk.ref_table} p where p.{fk.ref_column} = c.{fk.column})""")
            assert orphans == 0, (spec.name, fk)


def test_every_user_appearing_anywhere_exists(con: duckdb.DuckDBPyConnection) -> None:
    assert _violations(con, """
        select user_id from app_events union select user_id from receipts
        union select user_id from rewards_ledger union select user_id from redemptions
        union select referrer_user_id from referrals union select referred_user_id from referrals
        except select user_id from users""") == 1  # the null user_id of anonymous events


def test_ledger_sources_resolve(con: duckdb.DuckDBPyConnection) -> None:
    assert _violations(con, """
        select 1 from rewards_ledger l where
          (l.source_type = 'receipt' and not exists (select 1 from receipts r
              where r.receipt_id = l.source_id and r.user_id = l.user_id
              and r.status = 'accepted'))
          or (l.source_type = 'redemption' and not exists (select 1 from redemptions r
              where r.redemption_id = l.source_id and r.user_id = l.user_id
              and -l.amount_cents = r.amount_cents))
          or (l.source_type = 'expiry' and not exists (select 1 from rewards_ledger e
              where e.entry_id = l.source_id and e.user_id = l.user_id
              and e.amount_cents = -l.amount_cents))
          or (l.source_type = 'referral' and not exists (select 1 from referrals r
              where r.referral_id = l.source_id and r.status = 'qualified'))""") == 0


def test_nothing_at_or_after_as_of_nor_before_the_window(
        con: duckdb.DuckDBPyConnection) -> None:
    for spec in SOURCE_TABLES:
        for column in (c.name for c in spec.columns if c.type == "timestamp"):
            outside = _violations(con, f"""
                select 1 from {spec.name}, bounds
                where {column} >= end_at or {column} < start_at""")
            assert outside == 0, (spec.name, column)


def test_tiny_as_of_is_the_agreed_one() -> None:
    assert str(dt.datetime.combine(TINY.as_of, dt.time())) == AS_OF


def test_referral_funnel_is_in_causal_order(con: duckdb.DuckDBPyConnection) -> None:
    assert _violations(con, """
        select 1 from referrals where
          clicked_at < sent_at or installed_at < clicked_at
          or applied_at < coalesce(installed_at, clicked_at)
          or onboarded_at < applied_at or qualified_at < onboarded_at
          or (installed_at is not null and clicked_at is null)
          or (applied_at is not null and clicked_at is null)
          or (onboarded_at is not null and applied_at is null)
          or (qualified_at is not null and onboarded_at is null)""") == 0


def test_user_lifecycle_is_in_causal_order(con: duckdb.DuckDBPyConnection) -> None:
    assert _violations(con, """
        select 1 from users u join schools s using (school_id)
        where u.school_linked_at < u.signed_up_at or u.school_linked_at < s.created_at""") == 0
    assert _violations(con, """
        select 1 from users where signed_up_at < installed_at
          or updated_at < greatest(installed_at, signed_up_at, school_linked_at)
          or (school_id is null) <> (school_linked_at is null)
          or (school_linked_at is not null and signed_up_at is null)
          or (signed_up_at is null and (email is not null or is_verified))""") == 0


def test_events_happen_after_install_and_carry_user_id_only_after_sign_up(
        con: duckdb.DuckDBPyConnection) -> None:
    assert _violations(con, """
        select 1 from app_events e join users u
          on e.device_id = u.device_id and e.user_id = u.user_id
        where e.event_time < u.installed_at or e.event_time < u.signed_up_at""") == 0
    assert _violations(con, """
        select 1 from app_events e
        where e.user_id is not null and not exists (
            select 1 from users u
            where u.user_id = e.user_id and u.device_id = e.device_id)""") == 0
    assert _violations(con, """
        select 1 from app_events e join users u on u.device_id = e.device_id
        where e.user_id is null and e.event_time < u.installed_at
          and not exists (select 1 from users v where v.device_id = e.device_id
                          and v.installed_at <= e.event_time)""") == 0
    assert _violations(con, """
        select 1 from app_events e join users u using (user_id)
        where e.event_name = 'sign_up' and e.event_time <> u.signed_up_at""") == 0


def test_purchase_scan_and_ledger_times(con: duckdb.DuckDBPyConnection) -> None:
    assert _violations(con, "select 1 from receipts where purchased_at > scanned_at") == 0
    assert _violations(con, """
        select 1 from receipts r join users u using (user_id)
        where r.scanned_at < u.signed_up_at or u.signed_up_at is null""") == 0
    assert _violations(con, """
        select 1 from rewards_ledger l join receipts r on r.receipt_id = l.source_id
        where l.source_type = 'receipt' and l.created_at < r.scanned_at""") == 0
    assert _violations(con, """
        select 1 from rewards_ledger l join referrals r on r.referral_id = l.source_id
        where l.source_type = 'referral' and l.created_at <> r.qualified_at""") == 0
    assert _violations(con, """
        select 1 from rewards_ledger l join redemptions r on r.redemption_id = l.source_id
        where l.source_type = 'redemption' and l.created_at <> r.requested_at""") == 0
    assert _violations(con, """
        select 1 from rewards_ledger l join rewards_ledger e on e.entry_id = l.source_id
        where l.source_type = 'expiry'
          and l.created_at <> e.created_at + interval 365 day""") == 0
    assert _violations(con, """
        select 1 from redemptions where paid_at < requested_at
          or (status = 'paid') <> (paid_at is not null)""") == 0


def test_receipt_lines_add_up(con: duckdb.DuckDBPyConnection) -> None:
    assert _violations(con, """
        select 1 from receipts r join (
            select receipt_id, sum(quantity * unit_price_cents) as total,
                   sum(caps_earned) as caps, bool_or(is_qualifying) as any_qualifying
            from receipt_items group by receipt_id) i using (receipt_id)
        where r.total_cents <> i.total
           or (r.status <> 'accepted' and i.caps <> 0)
           or (r.status = 'accepted' and not i.any_qualifying)
           or (r.rejection_reason = 'no_qualifying_items' and i.any_qualifying)""") == 0
    assert _violations(con, """
        select 1 from receipt_items i join products p using (product_id)
        where i.is_qualifying <> p.is_qualifying or i.quantity < 1
           or i.caps_earned not in (0, i.quantity * p.caps_per_unit)""") == 0
    assert _violations(con, "select 1 from receipts where ocr_confidence not between 0 and 1") == 0
    assert _violations(con, """
        select 1 from receipts
        where (status = 'rejected') <> (rejection_reason is not null)""") == 0


def test_school_ids_are_the_school_linked_at_the_time(con: duckdb.DuckDBPyConnection) -> None:
    for table, time in (("receipts", "scanned_at"), ("rewards_ledger", "created_at"),
                        ("redemptions", "requested_at")):
        assert _violations(con, f"""
            select 1 from {table} t join users u using (user_id)
            where t.school_id is distinct from
                  case when u.school_linked_at <= t.{time} then u.school_id end""") == 0, table
