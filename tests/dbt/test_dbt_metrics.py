"""Metric spot checks: the marts against independent computations over the raw tables."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict, deque
from decimal import Decimal

import pytest

import duckdb
from codegen.dbt_project import ageing_buckets, dbt_vars
from tests.dbt.conftest import AS_OF, DbtBuild
from tests.dbt.ordered_funnel import ordered_funnel

#: the windows as dbt_project.yml states them: the checks below follow a change of them
VARS = dbt_vars()
ACTIVATION_DAYS = WINDOW = VARS["activation_window_days"]
VIRAL_DAYS = VARS["viral_invite_window_days"]
APPLY_HOURS = VARS["referral_apply_window_hours"]
EXPIRY_DAYS = VARS["reward_expiry_days"]

FOREGROUND = "event_name <> 'app_install' and user_id is not null"


@pytest.fixture(scope="module")
def con(dbt_build: DbtBuild) -> duckdb.DuckDBPyConnection:
    assert dbt_build.result.returncode == 0, dbt_build.result.stdout[-4000:]
    connection = duckdb.connect(str(dbt_build.db_path), read_only=True)
    yield connection
    connection.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    return con.execute(sql, params or []).fetchone()


def test_dau_wau_mau_and_stickiness_match_distinct_counts_over_raw_events(con) -> None:
    days = [d for (d,) in con.execute(
        "select activity_date from marts.mart_daily_engagement where dau > 0 "
        "order by activity_date desc limit 3").fetchall()]
    days.append(_one(con, "select max(activity_date) from marts.mart_daily_engagement")[0])
    for day in days:
        expected = _one(con, f"""
            select
                count(distinct case when cast(event_time as date) = $d then user_id end),
                count(distinct case when cast(event_time as date) between $d - 6 and $d
                                    then user_id end),
                count(distinct case when cast(event_time as date) between $d - 27 and $d
                                    then user_id end)
            from raw.app_events where {FOREGROUND}""".replace("$d", "cast(? as date)"),
            [day] * 5)
        actual = _one(con, "select dau, wau, mau, stickiness from marts.mart_daily_engagement "
                           "where activity_date = ?", [day])
        assert actual[:3] == expected, day
        assert actual[3] == pytest.approx(expected[0] / expected[2])


def test_liability_on_every_day_equals_the_ledger_sum_to_the_cent(con) -> None:
    mismatches = _one(con, """
        select count(*)
        from marts.mart_reward_liability_daily as m
        where m.liability_dollars * 100 <> (
            select coalesce(sum(amount_cents), 0) from raw.rewards_ledger
            where created_at < cast(m.balance_date as timestamp) + interval 1 day)""")[0]
    last = _one(con, "select liability_dollars, balance_date "
                     "from marts.mart_reward_liability_daily order by balance_date desc limit 1")
    ledger = _one(con, "select sum(amount_cents) from raw.rewards_ledger")[0]
    assert mismatches == 0
    assert last[0] * 100 == ledger
    assert str(last[1]) == "2025-06-29"


def test_liability_ageing_buckets_match_a_fifo_replay_of_the_ledger(con) -> None:
    balance_date = _one(con, "select max(balance_date) from marts.mart_reward_liability_daily")[0]
    entries = con.execute(
        "select user_id, amount_cents, cast(created_at as date) from raw.rewards_ledger "
        "where cast(created_at as date) <= ? order by user_id, created_at, entry_id",
        [balance_date]).fetchall()
    queues: dict[int, deque] = defaultdict(deque)
    for user_id, amount, day in entries:
        queue = queues[user_id]
        if amount > 0:
            queue.append([day, amount])
            continue
        debit = -amount
        while debit and queue:
            used = min(debit, queue[0][1])
            queue[0][1] -= used
            debit -= used
            if queue[0][1] == 0:
                queue.popleft()
    buckets = [0] * len(BUCKETS)
    for queue in queues.values():
        for day, amount in queue:
            buckets[_bucket((balance_date - day).days)] += amount
    row = _one(con, f"select {AGED_COLUMNS} from marts.mart_reward_liability_daily "
                    "where balance_date = ?", [balance_date])
    assert [int(value * 100) for value in row] == buckets


#: the ageing buckets as dbt_project.yml states them (var liability_ageing_buckets)
BUCKETS = ageing_buckets()
AGED_COLUMNS = ", ".join(bucket.column for bucket in BUCKETS)


def _bucket(age: int) -> int:
    """The index of the bucket an age in days falls in (both bounds inclusive)."""
    return next(index for index, bucket in enumerate(BUCKETS)
                if bucket.min_days <= age and (bucket.max_days is None or age <= bucket.max_days))


def test_liability_flows_count_positive_adjustments_as_earned_and_negative_as_debits(
    con,
) -> None:
    expected = con.execute("""
        select cast(created_at as date),
            sum(amount_cents) filter (where entry_type like 'earn%'
                                      or (entry_type = 'adjust' and amount_cents > 0)),
            -sum(amount_cents) filter (where entry_type = 'redeem'),
            -sum(amount_cents) filter (where entry_type = 'expire'),
            -sum(amount_cents) filter (where entry_type = 'adjust' and amount_cents < 0)
        from raw.rewards_ledger group by 1""").fetchall()
    actual = {row[0]: [int(v * 100) for v in row[1:]] for row in con.execute(
        "select balance_date, earned_dollars, redeemed_dollars, expired_dollars, "
        "adjusted_debit_dollars from marts.mart_reward_liability_daily").fetchall()}
    assert expected
    for day, *flows in expected:
        assert actual[day] == [v or 0 for v in flows], day


def test_liability_by_school_is_daily_with_fifo_ageing_that_reconciles_per_school(
    con,
) -> None:
    last_day = AS_OF - dt.timedelta(days=1)
    dates = [d for (d,) in con.execute(
        "select distinct balance_date from marts.mart_reward_liability_by_school "
        "order by 1").fetchall()]
    daily = [last_day - dt.timedelta(days=k) for k in range(89, -1, -1)]
    month_ends = [d for d in dates if d < daily[0]]
    assert dates[-90:] == daily
    assert all((d + dt.timedelta(days=1)).day == 1 for d in month_ends)
    checked = [last_day, daily[0], month_ends[len(month_ends) // 2]]
    entries = con.execute(
        "select user_id, school_id, amount_cents, cast(created_at as date) "
        "from raw.rewards_ledger order by user_id, created_at, entry_id").fetchall()
    for day in checked:
        # FIFO per user: each credit keeps its school and day; a debit's consumption is
        # charged to the debit's school at the consumed credit's age
        buckets: dict[int, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        liability: dict[int, int] = defaultdict(int)
        queues: dict[int, deque] = defaultdict(deque)
        for user_id, school_id, amount, created in entries:
            if created > day:
                continue
            if school_id is not None:
                liability[school_id] += amount
            queue = queues[user_id]
            if amount > 0:
                queue.append([created, amount])
                if school_id is not None:
                    buckets[school_id][_bucket((day - created).days)] += amount
                continue
            debit = -amount
            while debit and queue:
                used = min(debit, queue[0][1])
                if school_id is not None:
                    buckets[school_id][_bucket((day - queue[0][0]).days)] -= used
                queue[0][1] -= used
                debit -= used
                if queue[0][1] == 0:
                    queue.popleft()
        rows = con.execute(
            f"select school_id, liability_dollars, {AGED_COLUMNS}, "
            "is_latest_balance from marts.mart_reward_liability_by_school "
            "where balance_date = ?", [day]).fetchall()
        assert {r[0] for r in rows} == set(liability), day
        for school_id, total, *aged, is_latest in rows:
            assert int(total * 100) == liability[school_id], (day, school_id)
            assert [int(v * 100) for v in aged] == buckets[school_id], (day, school_id)
            assert is_latest == (day == last_day)


def test_referral_funnel_weekly_matches_raw_referrals(con) -> None:
    expected = con.execute(f"""
        select cast(date_trunc('week', sent_at) as date), channel, count(*),
            count(clicked_at), count(installed_at),
            count(*) filter (where applied_at <= installed_at + interval {APPLY_HOURS} hour),
            count(onboarded_at), count(qualified_at)
        from raw.referrals group by all order by 1, 2""").fetchall()
    actual = con.execute("""
        select sent_week, channel, sent, clicked, installed, applied_within_48h, onboarded,
            qualified
        from marts.mart_referral_funnel_weekly order by 1, 2""").fetchall()
    assert actual == expected
    rejections = con.execute("""
        select cast(date_trunc('week', sent_at) as date), channel, rejection_reason, count(*)
        from raw.referrals where status = 'rejected' group by all order by 1, 2, 3""").fetchall()
    assert con.execute("select * from marts.mart_referral_rejections "
                       "order by 1, 2, 3").fetchall() == rejections


def test_k_factor_and_cycle_time_match_raw_referrals(con) -> None:
    users = {u: s for u, s in con.execute(
        "select user_id, signed_up_at from raw.users where signed_up_at is not null").fetchall()}
    cohorts: dict[dt.date, dict[str, int]] = defaultdict(lambda: {"users": 0, "inv": 0, "q": 0})
    for signed_up_at in users.values():
        week = (signed_up_at - dt.timedelta(days=signed_up_at.weekday())).date()
        cohorts[week]["users"] += 1
    for referrer, sent_at, qualified_at in con.execute(
            "select referrer_user_id, sent_at, qualified_at from raw.referrals").fetchall():
        signed_up_at = users.get(referrer)
        if signed_up_at is None or not (
                signed_up_at <= sent_at <= signed_up_at + dt.timedelta(days=VIRAL_DAYS)):
            continue
        week = (signed_up_at - dt.timedelta(days=signed_up_at.weekday())).date()
        cohorts[week]["inv"] += 1
        cohorts[week]["q"] += qualified_at is not None
    rows = con.execute("select signup_week, cohort_users, invites_sent_30d, "
                       "qualified_referred_users, invites_per_user, invite_conversion, k_factor "
                       "from marts.mart_viral_coefficient").fetchall()
    assert {r[0] for r in rows} == set(cohorts)
    cycles: dict[dt.date, list[float]] = defaultdict(list)
    for referrer, qualified_at in con.execute(
            "select referrer_user_id, qualified_at from raw.referrals "
            "where qualified_at is not null").fetchall():
        if referrer in users:
            week = (users[referrer] - dt.timedelta(days=users[referrer].weekday())).date()
            cycles[week].append((qualified_at - users[referrer]).total_seconds() / 86400)
    medians = dict(con.execute("select signup_week, median_cycle_time_days "
                               "from marts.mart_viral_coefficient").fetchall())
    samples = dict(con.execute("select signup_week, qualified_referrals_any_time "
                               "from marts.mart_viral_coefficient").fetchall())
    assert any(len(cycles[w]) > cohorts[w]["q"] for w in cycles), "no late qualified invites"
    for week, median in medians.items():
        assert samples[week] == len(cycles.get(week, []))
        if cycles.get(week):
            assert median == pytest.approx(statistics.median(cycles[week]))
        else:
            assert median is None
    for week, n_users, invites, qualified, i, c, k in rows:
        cohort = cohorts[week]
        assert (n_users, invites, qualified) == (cohort["users"], cohort["inv"], cohort["q"])
        assert i == pytest.approx(invites / n_users)
        assert k == pytest.approx(qualified / n_users)
        if invites:
            assert c == pytest.approx(qualified / invites)
            assert k == pytest.approx(i * c)


def test_retention_week_n_counts_whole_days_since_each_users_sign_up(con) -> None:
    users = con.execute("select user_id, signed_up_at from raw.users "
                        "where signed_up_at is not null").fetchall()
    signup = {user: at.date() for user, at in users}
    cohort_of = {user: day - dt.timedelta(days=day.weekday()) for user, day in signup.items()}
    cohort_users: dict[dt.date, int] = defaultdict(int)
    last_signup: dict[dt.date, dt.date] = {}
    for user, week in cohort_of.items():
        cohort_users[week] += 1
        last_signup[week] = max(last_signup.get(week, signup[user]), signup[user])
    active: dict[tuple[dt.date, int], set[int]] = defaultdict(set)
    for user, day in con.execute(f"select distinct user_id, cast(event_time as date) "
                                 f"from raw.app_events where {FOREGROUND}").fetchall():
        if user in signup and day >= signup[user]:
            active[(cohort_of[user], (day - signup[user]).days // 7)].add(user)
    last_day = AS_OF - dt.timedelta(days=1)
    rows = con.execute("select signup_week, weeks_since_signup, cohort_users, active_users, "
                       "retention, is_complete from marts.mart_retention_cohorts").fetchall()
    assert {r[0] for r in rows} == set(cohort_users)
    for week, n, users_in_cohort, active_users, retention, is_complete in rows:
        expected = len(active.get((week, n), ()))
        assert (users_in_cohort, active_users) == (cohort_users[week], expected), (week, n)
        assert retention == pytest.approx(expected / users_in_cohort)
        assert is_complete == (last_signup[week] + dt.timedelta(days=7 * n + 6) <= last_day)
    assert set(active) <= {(r[0], r[1]) for r in rows}


RAW_MILESTONES = """
    with firsts as (
        select u.user_id, u.installed_at, u.signed_up_at, u.school_linked_at,
            (select min(scanned_at) from raw.receipts r
             where r.user_id = u.user_id and r.status = 'accepted') as receipt_at,
            (select min(created_at) from raw.rewards_ledger l where l.user_id = u.user_id
             and l.entry_type like 'earn%' and l.amount_cents > 0) as reward_at
        from raw.users u
    )"""


def test_activation_funnel_equals_an_ordered_recomputation_from_raw_in_pandas(con) -> None:
    """Every cohort and stage of the mart equals the ordered funnel recomputed from raw.*
    (each stage the first qualifying event at or after the previous one), non-increasing."""
    expected = ordered_funnel(con, ACTIVATION_DAYS)
    actual = con.execute("""
        select install_week, list(users order by stage_order)
        from marts.mart_activation_funnel group by 1 order by 1""").fetchall()
    assert {week: list(users) for week, users in actual} == {
        row[0]: list(row[1:]) for row in expected.itertuples(index=False)}
    assert all(a >= b for _, users in actual for a, b in itertools.pairwise(users))


def test_the_data_has_users_whose_first_reward_came_before_their_first_receipt(con) -> None:
    """The case the first-ever rule got wrong (a bonus before the first accepted receipt,
    the receipt's caps after it, both in the window) occurs in the generated data, so the
    recomputation above exercises it."""
    cases = _one(con, RAW_MILESTONES + f"""
        select count(*) from firsts
        where reward_at < receipt_at and receipt_at <= installed_at + interval {WINDOW} day
          and exists (select 1 from raw.rewards_ledger l where l.user_id = firsts.user_id
                      and l.entry_type like 'earn%' and l.amount_cents > 0
                      and l.created_at between firsts.receipt_at
                          and firsts.installed_at + interval {WINDOW} day)""")[0]
    assert cases > 0


def test_activation_stage_reach_counts_each_stage_in_any_order(con) -> None:
    expected = con.execute(RAW_MILESTONES + f"""
        select cast(date_trunc('week', installed_at) as date), count(*),
            count(*) filter (where signed_up_at <= installed_at + interval {WINDOW} day),
            count(*) filter (where school_linked_at <= installed_at + interval {WINDOW} day),
            count(*) filter (where receipt_at <= installed_at + interval {WINDOW} day),
            count(*) filter (where reward_at <= installed_at + interval {WINDOW} day)
        from firsts group by 1 order by 1""").fetchall()
    actual = con.execute("""
        select install_week, list(users order by stage_order)
        from marts.mart_activation_stage_reach group by 1 order by 1""").fetchall()
    assert [(week, *users) for week, users in actual] == expected


def test_feature_adoption_share_matches_raw_events_for_a_busy_week(con) -> None:
    week = _one(con, "select activity_week from marts.mart_feature_adoption_weekly "
                     "order by weekly_active_users desc, activity_week limit 1")[0]
    wau, scanners = _one(con, f"""
        select count(distinct user_id),
            count(distinct case when event_name = 'receipt_scan' then user_id end)
        from raw.app_events
        where {FOREGROUND} and cast(date_trunc('week', event_time) as date) = ?""", [week])
    row = _one(con, "select weekly_active_users, feature_users, adoption_share "
                    "from marts.mart_feature_adoption_weekly "
                    "where activity_week = ? and feature = 'receipt_scan'", [week])
    assert row[:2] == (wau, scanners)
    assert row[2] == pytest.approx(scanners / wau)


def test_dollars_raised_are_paid_redemptions_per_school_and_state(con) -> None:
    expected = dict(con.execute(
        "select school_id, sum(amount_cents) from raw.redemptions "
        "where status = 'paid' group by 1").fetchall())
    actual = {s: int(d * 100) for s, d in con.execute(
        "select school_id, dollars_raised from marts.mart_school_fundraising "
        "where dollars_raised > 0").fetchall()}
    assert actual == expected
    state_total = _one(con, "select sum(dollars_raised) from marts.mart_state_fundraising")[0]
    assert state_total == Decimal(sum(expected.values())) / 100


def test_redemption_forecast_has_12_forecast_weeks_with_an_80_percent_interval(con) -> None:
    rows = con.execute("select week_start, redeemed_dollars, lower_80, upper_80 "
                       "from marts.mart_redemption_forecast where kind = 'forecast' "
                       "order by week_start").fetchall()
    last_actual = _one(con, "select max(week_start) from marts.mart_redemption_forecast "
                            "where kind = 'actual'")[0]
    assert len(rows) == 12
    assert rows[0][0] == last_actual + dt.timedelta(days=7)
    for _, point, lower, upper in rows:
        assert 0 <= lower <= point <= upper
    accuracy = _one(con, "select backtest_horizon_weeks, backtest_origins, forecast_weeks, "
                         "backtest_mape_pct, coverage_80 "
                         "from marts.mart_redemption_forecast_accuracy")
    assert accuracy[:3] == (12, 12, 12)
    assert accuracy[3] is not None and accuracy[3] >= 0
    assert 0 <= accuracy[4] <= 1


def _weekly_redemptions(con) -> list[tuple[dt.date, float]]:
    """Redeemed dollars per complete ISO week, recomputed from raw."""
    return [(week, float(v)) for week, v in con.execute("""
        with weeks as (
            select unnest(generate_series(
                (select cast(date_trunc('week', min(created_at)) as date)
                 from raw.rewards_ledger),
                cast(? as date) - interval 7 day, interval 7 day)) as week_start
        )
        select cast(weeks.week_start as date), coalesce(-sum(l.amount_cents), 0) / 100.0
        from weeks left join raw.rewards_ledger l
            on l.entry_type = 'redeem'
            and cast(date_trunc('week', l.created_at) as date) = cast(weeks.week_start as date)
        group by weeks.week_start order by weeks.week_start""", [AS_OF]).fetchall()]


def test_forecast_backtest_of_the_baselines_matches_a_recomputation_from_raw(con) -> None:
    weekly = _weekly_redemptions(con)
    values = [value for _, value in weekly]
    first, last = _one(con, "select min(first_origin_week), max(last_origin_week) "
                            "from marts.mart_redemption_forecast_backtest")
    weeks = _one(con, "select training_weeks from marts.mart_redemption_forecast_accuracy")[0]
    assert len(values) == weeks
    origins = [i for i, (week, _) in enumerate(weekly) if first <= week <= last]
    assert origins == list(range(weeks - 12 - 11, weeks - 12 + 1))
    errors: dict[str, list[float]] = {"naive": [], "mean_4": []}
    actual_sum = 0.0
    for origin in origins:
        train = values[:origin]
        for h in range(12):
            actual = values[origin + h]
            actual_sum += actual
            errors["naive"].append(abs(actual - train[-1]))
            errors["mean_4"].append(abs(actual - sum(train[-4:]) / 4))
    mart = dict(con.execute("select model_name, wape from marts.mart_redemption_forecast_backtest "
                            "where model_name in ('naive', 'mean_4')").fetchall())
    for name, absolute in errors.items():
        assert mart[name] == pytest.approx(sum(absolute) / actual_sum)
    chosen, best_baseline = _one(con, "select backtest_wape, best_baseline_wape "
                                      "from marts.mart_redemption_forecast_accuracy")
    assert chosen <= best_baseline <= min(sum(e) / actual_sum for e in errors.values())


def test_forecast_totals_have_their_own_interval_for_4_and_12_weeks(con) -> None:
    totals = con.execute("select horizon_weeks, forecast_dollars, lower_80, upper_80 "
                         "from marts.mart_redemption_forecast_totals "
                         "order by horizon_weeks").fetchall()
    weekly = [point for (point,) in con.execute(
        "select redeemed_dollars from marts.mart_redemption_forecast "
        "where kind = 'forecast' order by week_start").fetchall()]
    assert [row[0] for row in totals] == [4, 12]
    for weeks, point, lower, upper in totals:
        assert point == pytest.approx(sum(weekly[:weeks]), abs=Decimal("0.06"))
        assert lower <= point <= upper


def test_expiry_outlook_matches_a_fifo_recomputation_from_raw(con) -> None:
    entries = con.execute("select user_id, school_id, amount_cents, created_at "
                          "from raw.rewards_ledger where created_at < ? "
                          "order by user_id, created_at, entry_id", [AS_OF]).fetchall()
    lots: dict[int, deque] = defaultdict(deque)
    for user_id, school_id, cents, created_at in entries:
        if cents > 0:
            lots[user_id].append([cents, created_at, school_id])
            continue
        debit = -cents
        while debit > 0:
            lot = lots[user_id][0]
            used = min(lot[0], debit)
            lot[0] -= used
            debit -= used
            if lot[0] == 0:
                lots[user_id].popleft()
    start = dt.datetime.combine(AS_OF, dt.time())
    windows = {days: 0 for days in (30, 60, 90)}
    by_school: dict[int, int] = defaultdict(int)
    for user_lots in lots.values():
        for cents, created_at, school_id in user_lots:
            expires_at = created_at + dt.timedelta(days=EXPIRY_DAYS)
            for days in windows:
                if start <= expires_at < start + dt.timedelta(days=days):
                    windows[days] += cents
                    if days == 90 and school_id is not None:
                        by_school[school_id] += cents
    row = _one(con, "select expiring_30d_dollars, expiring_60d_dollars, expiring_90d_dollars "
                    "from marts.mart_expiry_outlook")
    assert [int(value * 100) for value in row] == [windows[30], windows[60], windows[90]]
    mart = {school: int(value * 100) for school, value in con.execute(
        "select school_id, expiring_90d_dollars from marts.mart_expiry_outlook_by_school "
        "where expiring_90d_dollars > 0").fetchall()}
    assert mart == {school: cents for school, cents in by_school.items() if cents}
