"""SQL rendering: parameterised and inline, whitelisted columns, empty rules."""

import sqlite3

import pytest

from segmentation.rules import Clause, Condition, Rule, RuleError, render_sql, render_sql_inline
from segmentation.rules.sql import sql_literal

COLUMNS = {
    "orders_90d": '"t"."orders_90d"',
    "total_spend": '"t"."total_spend"',
    "channel": 'json_extract("t"."extra", \'$.channel\')',
}


def clause(*conds):
    return Clause(tuple(Condition(*c) for c in conds))


RULE = Rule(
    (
        clause(("orders_90d", ">=", 3), ("total_spend", ">", 1200)),
        clause(("channel", "in", ("web", "O'Brien")), ("total_spend", "!=", 0.1)),
    )
)


def test_parameterised():
    sql, params = render_sql(RULE, COLUMNS)
    assert sql == (
        '("t"."orders_90d" >= %s AND "t"."total_spend" > %s) OR '
        '(json_extract("t"."extra", \'$.channel\') IN (%s, %s) AND "t"."total_spend" <> %s)'
    )
    assert params == [3, 1200, "web", "O'Brien", 0.1]
    assert render_sql(RULE, COLUMNS, "sqlite")[0].count("?") == 5
    assert render_sql(RULE, COLUMNS, "sqlite", placeholder="%s")[0] == sql


def test_inline_escapes_values():
    assert render_sql_inline(RULE, COLUMNS) == (
        '("t"."orders_90d" >= 3 AND "t"."total_spend" > 1200) OR '
        "(json_extract(\"t\".\"extra\", '$.channel') IN ('web', 'O''Brien') "
        'AND "t"."total_spend" <> 0.1)'
    )
    assert sql_literal("a\\'; DROP TABLE x; --") == "'a\\''; DROP TABLE x; --'"
    assert sql_literal(1e22) == "1e+22" and sql_literal(-2.5) == "-2.5"
    with pytest.raises(RuleError, match="NUL"):
        sql_literal("a\x00b")


def test_empty_rule_and_clause():
    assert render_sql(Rule.nobody(), COLUMNS) == ("1 = 0", [])
    assert render_sql(Rule((clause(("orders_90d", ">", 1)), Clause(()))), COLUMNS) == ("1 = 1", [])
    assert render_sql_inline(Rule.everyone(), {}) == "1 = 1"


def test_only_whitelisted_columns():
    rule = Rule((clause(("total_spend", ">", 1), ("evil", "==", 1)),))
    with pytest.raises(RuleError, match="feature 'evil': no SQL column"):
        render_sql(rule, COLUMNS)
    with pytest.raises(RuleError, match="feature 'evil'"):
        render_sql(Rule((clause(("evil", "==", 1)), Clause(()))), COLUMNS)
    with pytest.raises(RuleError, match="unknown SQL dialect 'mysql'"):
        render_sql(RULE, COLUMNS, "mysql")


def test_literals_read_back_as_the_same_values():
    con = sqlite3.connect(":memory:")
    for value in (0.1, 1e-7, 1e22, -2.5, 1187.35, 2**53 + 1, "O'Brien", "back\\slash", "50%", ""):
        assert con.execute(f"SELECT {sql_literal(value)}").fetchone()[0] == value
