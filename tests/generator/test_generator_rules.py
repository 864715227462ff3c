"""The referral program's rules (docs/design.md#referral-program) hold by construction."""

from __future__ import annotations

import datetime as dt

import pytest
from generator_testkit import TINY, build, connect, scalar

import duckdb
from generator.data_generator import GeneratorConfig
from generator.parameters import PARAMETERS

MEDIUM = GeneratorConfig(seed=5, users=4_000, as_of=dt.date(2025, 12, 1))


@pytest.fixture(scope="module", params=["tiny", "medium"])
def con(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> duckdb.DuckDBPyConnection:
    config = TINY if request.param == "tiny" else MEDIUM
    connection = connect(build(tmp_path_factory.mktemp(request.param), config))
    connection.execute(f"create table bounds as select timestamp '{config.as_of}' as end_at")
    return connection


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(scalar(con, f"select count(*) from ({sql})"))


def test_referrers_are_verified_and_signed_up_before_inviting(
        con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        select 1 from referrals r join users u on u.user_id = r.referrer_user_id
        where not u.is_verified or u.signed_up_at is null or u.signed_up_at > r.sent_at""") == 0


def test_referred_users_are_new_accounts_from_the_invite(con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        select 1 from referrals r join users u on u.user_id = r.referred_user_id
        where r.installed_at is not null
          and (u.installed_at <> r.installed_at or u.acquisition_channel <> 'referral')""") == 0
    # every referral-channel user comes from exactly one invite that installed them
    assert _count(con, """
        select 1 from users u where u.acquisition_channel = 'referral' and 1 <> (
            select count(*) from referrals r
            where r.referred_user_id = u.user_id and r.installed_at is not null)""") == 0
    assert scalar(con, "select count(*) from users where acquisition_channel = 'referral'") > 0


def test_existing_users_are_rejected(con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        select 1 from referrals r join users u on u.user_id = r.referred_user_id
        where r.installed_at is null
          and not (r.status = 'rejected' and r.rejection_reason = 'existing_user'
                   and u.installed_at < r.sent_at)""") == 0
    assert _count(con, """
        select 1 from referrals where rejection_reason = 'existing_user'
          and (installed_at is not null or referred_user_id is null)""") == 0


def test_code_must_be_applied_within_48_hours_of_install(con: duckdb.DuckDBPyConnection) -> None:
    window = PARAMETERS.apply_window_s
    assert _count(con, f"""
        select 1 from referrals where installed_at is not null and applied_at is not null
          and status <> 'rejected' and epoch(applied_at) - epoch(installed_at) > {window}""") == 0
    assert _count(con, f"""
        select 1 from referrals where rejection_reason = 'applied_after_window'
          and not epoch(applied_at) - epoch(installed_at) > {window}""") == 0


def test_self_referrals_share_the_device_and_are_rejected(con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        select 1 from referrals r
        join users a on a.user_id = r.referrer_user_id
        join users b on b.user_id = r.referred_user_id
        where r.applied_at is not null and r.installed_at is not null
          and (a.device_id = b.device_id) <> (r.rejection_reason = 'self_referral')""") == 0


def test_rejected_referrals_never_qualify(con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        select 1 from referrals
        where (status = 'rejected') <> (rejection_reason is not null)
           or (status = 'rejected' and (qualified_at is not null or onboarded_at is not null
                                        and rejection_reason <> 'fraud_suspected'))
           or (status = 'qualified') <> (qualified_at is not null)""") == 0


def test_status_is_the_furthest_stage_reached(con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        select 1 from referrals where status <> 'rejected' and status <> case
            when qualified_at is not null then 'qualified'
            when onboarded_at is not null then 'onboarded'
            when applied_at is not null then 'applied'
            when installed_at is not null then 'installed'
            when clicked_at is not null then 'clicked' else 'sent' end""") == 0


def test_qualification_needs_onboarding_and_a_qualifying_action(
        con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        with first_scan as (
            select r.user_id, min(r.scanned_at) as at from receipts r
            where r.status = 'accepted' and exists (select 1 from receipt_items i
                where i.receipt_id = r.receipt_id and i.is_qualifying)
            group by r.user_id)
        select 1 from referrals r join users u on u.user_id = r.referred_user_id
        left join first_scan f on f.user_id = u.user_id
        where r.status = 'qualified' and r.qualified_at <> greatest(
            r.onboarded_at, least(coalesce(u.school_linked_at, f.at), coalesce(f.at,
            u.school_linked_at)))""") == 0


def test_both_bonuses_are_paid_exactly_once_per_qualified_referral(
        con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, f"""
        select 1 from referrals r
        where r.status = 'qualified' and 1 <> (
            select count(*) from rewards_ledger l
            where l.entry_type = 'earn_referral_bonus' and l.source_type = 'referral'
              and l.source_id = r.referral_id and l.user_id = r.referrer_user_id
              and l.created_at = r.qualified_at
              and l.amount_cents = {PARAMETERS.referral_bonus_cents})""") == 0
    assert _count(con, f"""
        select 1 from referrals r
        where r.status = 'qualified' and 1 <> (
            select count(*) from rewards_ledger l
            where l.entry_type = 'earn_welcome_bonus' and l.source_type = 'referral'
              and l.source_id = r.referral_id and l.user_id = r.referred_user_id
              and l.created_at = r.qualified_at
              and l.amount_cents = {PARAMETERS.welcome_bonus_cents})""") == 0
    assert scalar(con, """
        select count(*) from rewards_ledger where source_type = 'referral'""") == 2 * scalar(
        con, "select count(*) from referrals where status = 'qualified'")


def test_all_rejection_reasons_occur_in_a_medium_run(con: duckdb.DuckDBPyConnection) -> None:
    reasons = {r[0] for r in con.execute(
        "select distinct rejection_reason from referrals where rejection_reason is not null"
    ).fetchall()}
    if scalar(con, "select count(*) from users") >= MEDIUM.users:
        assert reasons == {"applied_after_window", "self_referral", "existing_user",
                           "fraud_suspected"}
    else:
        assert len(reasons) >= 2


def test_balances_never_go_negative(con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, """
        select 1 from (
            select sum(amount_cents) over (partition by user_id order by created_at, entry_id
                                          rows unbounded preceding) as balance
            from rewards_ledger) where balance < 0""") == 0


def test_redemptions_pay_out_the_whole_balance(con: duckdb.DuckDBPyConnection) -> None:
    assert _count(con, f"""
        select 1 from (
            select entry_type, amount_cents,
                   sum(amount_cents) over (partition by user_id order by created_at, entry_id
                                          rows unbounded preceding) as balance
            from rewards_ledger)
        where entry_type = 'redeem' and (balance <> 0
              or -amount_cents < {PARAMETERS.min_redemption_cents})""") == 0


def test_unredeemed_caps_expire_after_twelve_months(con: duckdb.DuckDBPyConnection) -> None:
    lots = """
        select l.*, exists (select 1 from rewards_ledger r where r.user_id = l.user_id
            and r.entry_type = 'redeem' and r.created_at >= l.created_at
            and r.created_at < l.created_at + interval 365 day) as redeemed_in_time
        from rewards_ledger l where l.amount_cents > 0"""
    assert _count(con, f"""
        select 1 from ({lots}) l
        where l.created_at + interval 365 day < (select end_at from bounds)
          and (not l.redeemed_in_time) <> exists (
              select 1 from rewards_ledger e where e.entry_type = 'expire'
              and e.source_id = l.entry_id)""") == 0
    assert scalar(con, "select count(*) from rewards_ledger where entry_type = 'expire'") > 0
