"""Column lineage read from a model's SQL (pipeline/evidence/column_lineage.py): each output
column followed through CTEs, stars, derived tables, set operations (by position), joins,
windows and scalar subqueries to the columns of the relations it is computed from; a
column whose source the SQL does not name is left out, never guessed."""

from __future__ import annotations

import pytest

from pipeline.evidence.column_lineage import Leaf, read_lineage

#: the relations the SQL may read (one column name in mixed case, as the snapshot has it)
COLUMNS = {("s", "orders"): ["order_id", "user_id", "amount"],
           ("s", "users"): ["user_id", "State"]}
AMOUNT: Leaf = ("s", "orders", "amount")
ORDER_ID: Leaf = ("s", "orders", "order_id")
STATE: Leaf = ("s", "users", "State")
USER_ID: Leaf = ("s", "users", "user_id")


def test_ctes_stars_joins_windows_and_subqueries_resolve_to_the_relations() -> None:
    sql = """with orders as (select * from "s"."orders"),
        totals as (select user_id, sum(amount) as spent from orders group by user_id)
        select u.state, t.spent, rank() over (partition by u.state order by t.spent) as r,
            (select max(amount) from "s"."orders") as top, count(*) as n, 'x' as label
        from "s"."users" u join totals t on u.user_id = t.user_id"""
    assert read_lineage(sql, COLUMNS) == {"state": {STATE}, "spent": {AMOUNT},
                                          "r": {STATE, AMOUNT}, "top": {AMOUNT}}


def test_set_operations_match_their_branches_by_position() -> None:
    sql = """with b as (select order_id as a, 1 as k from "s"."orders"
        union all select state, 2 from "s"."users"
        union all select 'z', user_id from "s"."users")
        select * from b"""
    assert read_lineage(sql, COLUMNS) == {"a": {ORDER_ID, STATE}, "k": {USER_ID}}


@pytest.mark.parametrize(("sql", "expected"), [
    # a star over a relation whose columns are unknown
    ('select * from "s"."unknown"', {}),
    ('with x as (select * from "s"."unknown") select x.a, u.state from x, "s"."users" u',
     {"state": {STATE}}),
    # a column the relation does not have
    ('select bogus, state from "s"."users"', {"state": {STATE}}),
    # one unknown input leaves the whole column out, not a part of it
    ('select o.amount + x.y as z, o.order_id from "s"."orders" o, "s"."other" x',
     {"order_id": {ORDER_ID}}),
    # a reference to the outer query
    ('select (select u.state) as m from "s"."users" u', {}),
    # a table function that is not a number series
    ("select o.amount + t.a as b from read_csv('f.csv') t, \"s\".\"orders\" o", {}),
], ids=["star", "cte-star", "column", "partial", "correlated", "table-function"])
def test_what_the_sql_does_not_resolve_is_left_out(sql: str,
                                                   expected: dict[str, set[Leaf]]) -> None:
    assert read_lineage(sql, COLUMNS) == expected


def test_number_series_and_values_read_no_relation() -> None:
    sql = """select o.amount + g.generate_series as z, g.generate_series as k, v.c
        from "s"."orders" o, generate_series(1, 3) g, (values (1), (2)) v(c)"""
    assert read_lineage(sql, COLUMNS) == {"z": {AMOUNT}}


def test_only_the_relations_given_are_read() -> None:
    assert read_lineage('select amount from "s"."orders"', {}) == {}
