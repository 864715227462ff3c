"""Places, sizes and money a stakeholder believes (docs/design.md#the-simulated-data)."""

from __future__ import annotations

import datetime as dt

import pytest
import zipcodes
from generator_testkit import build, connect, scalar

import duckdb
from generator.data_generator import GeneratorConfig
from generator.parameters import PARAMETERS

CONFIG = GeneratorConfig(seed=11, users=5_000, as_of=dt.date(2026, 11, 1))
LEVELS = {name: (low, high) for name, _, _, low, high in PARAMETERS.school_levels}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return connect(build(tmp_path_factory.mktemp("realism"), CONFIG))


def test_every_school_is_in_a_real_city_whose_zip_code_lies_in_its_state(
        con: duckdb.DuckDBPyConnection) -> None:
    schools = con.execute("select school_id, city, state, zip_code from schools").fetchall()
    assert len(schools) == 125
    for school_id, city, state, zip_code in schools:
        (record,) = zipcodes.matching(zip_code)
        assert (record["state"], record["city"]) == (state, city), school_id
    assert len({state for _, _, state, _ in schools}) > 25


def test_enrollment_fits_the_school_level_named_in_the_school_name(
        con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("select name, enrollment from schools").fetchall()
    medians: dict[str, list[int]] = {name: [] for name in LEVELS}
    for name, enrollment in rows:
        (level,) = [level for level in LEVELS if name.endswith(" " + level)]
        low, high = LEVELS[level]
        assert low <= enrollment <= high, name
        medians[level].append(enrollment)
    elementary, high_school = medians["Elementary School"], medians["High School"]
    assert sorted(elementary)[len(elementary) // 2] < sorted(high_school)[len(high_school) // 2]


def test_no_school_has_more_linked_users_than_a_plausible_share_of_its_enrollment(
        con: duckdb.DuckDBPyConnection) -> None:
    worst = scalar(con, """
        select max(linked * 1.0 / s.enrollment)
        from (select school_id, count(*) as linked from users
              where school_id is not null group by 1) as u
        join schools s using (school_id)""")
    assert worst <= PARAMETERS.max_linked_share_of_enrollment
    top_share = scalar(con, """
        select max(n) * 1.0 / sum(n) from (select count(*) as n from users
                                           where school_id is not null group by school_id)""")
    assert top_share < 0.15


def test_yearly_earnings_per_earning_user_are_what_a_fundraising_app_would_publish(
        con: duckdb.DuckDBPyConnection) -> None:
    low, high = PARAMETERS.yearly_earnings_per_earner_band_cents
    per_earner = scalar(con, """
        select sum(amount_cents) / count(distinct user_id)
        from rewards_ledger
        where entry_type like 'earn%'
          and created_at >= timestamp '2026-11-01' - interval 365 day""")
    assert low <= per_earner <= high
