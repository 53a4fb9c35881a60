"""SQL ``WHERE`` predicates for PostgreSQL and SQLite.

:func:`render_sql` gives a parameterised predicate and its parameters;
:func:`render_sql_inline` the same predicate with the values written as
escaped literals, for copy and paste into a SQL console.

Columns are never taken from the rule: the caller passes ``columns``, a
whitelist mapping each feature to a trusted SQL expression (a quoted column,
or a typed JSON extraction); a feature outside it raises :class:`RuleError`.
On the Django side, :func:`segmentation.querying.feature_columns` builds it.

Missing values
--------------
A missing value is SQL ``NULL``: every comparison with it is ``NULL``, which
``WHERE`` treats as false, and the predicate never negates (``!=`` is ``<>``,
no ``NOT``), so a condition on a missing value is False exactly as in the
Python evaluator, ``x <> 3`` included. A condition with ``or_unknown`` renders
as ``("t"."x" <= %s OR "t"."x" IS NULL)``: True on a missing value, as in the
Python evaluator. An empty rule renders as ``1 = 0``, an
empty clause as ``1 = 1``.

Types: order operators and numbers go with numeric columns, text with text
columns; check the rule with :func:`~segmentation.rules.validate.validate_rule`
first (comparing a number column with text is an error in PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .ast import Condition, Rule, RuleError

__all__ = ["DIALECTS", "render_sql", "render_sql_inline", "sql_literal"]

#: Dialect -> the DB-API placeholder its usual driver wants (psycopg, sqlite3).
DIALECTS = {"postgresql": "%s", "sqlite": "?"}

_SQL_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


def sql_literal(value: float | int | str) -> str:
    """Write one value as a SQL literal (PostgreSQL and SQLite alike).

    Text is single-quoted with quotes doubled (standard SQL strings: a
    backslash is an ordinary character); numbers are written so they parse
    back to the same double. Raises :class:`RuleError` for a NUL character.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise RuleError(f"value {value!r}: SQL text cannot contain a NUL character")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        raise RuleError(f"value {value!r}: expected a number or text")
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _condition(cond: Condition, columns: Mapping[str, str], bind: Callable) -> str:
    column = columns[cond.feature]
    if cond.op == "in":
        test = f"{column} IN ({', '.join(bind(v) for v in cond.value)})"
    else:
        test = f"{column} {_SQL_OPS[cond.op]} {bind(cond.value)}"
    return f"({test} OR {column} IS NULL)" if cond.or_unknown else test


def _render(rule: Rule, columns: Mapping[str, str], bind: Callable) -> str:
    if not rule.clauses:
        return "1 = 0"
    for feature in rule.features():
        if feature not in columns:
            raise RuleError(
                f"feature {feature!r}: no SQL column for it (not in the column whitelist)"
            )
    if any(not clause.conditions for clause in rule.clauses):
        return "1 = 1"  # a clause with no conditions selects everybody
    clauses = [
        " AND ".join(_condition(c, columns, bind) for c in clause.conditions)
        for clause in rule.clauses
    ]
    if len(clauses) == 1:
        return clauses[0]
    return " OR ".join(f"({c})" for c in clauses)


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise RuleError(f"unknown SQL dialect {dialect!r}: use one of {', '.join(DIALECTS)}")


def render_sql(
    rule: Rule,
    columns: Mapping[str, str],
    dialect: str = "postgresql",
    *,
    placeholder: str | None = None,
) -> tuple[str, list]:
    """Render a rule as a parameterised SQL ``WHERE`` predicate.

    Parameters
    ----------
    rule : Rule
    columns : mapping of str to str
        Feature name -> trusted SQL expression, e.g.
        ``{"total_spend": '"segmentation_customerfeatures"."total_spend"'}``.
    dialect : {"postgresql", "sqlite"}
    placeholder : str, optional
        Parameter marker; default ``%s`` for PostgreSQL (psycopg), ``?`` for
        SQLite (sqlite3). Django's cursors want ``%s`` on both.

    Returns
    -------
    sql : str
        E.g. ``'"t"."orders_90d" >= %s AND "t"."total_spend" > %s'``.
    params : list
        The values, in order.

    Raises
    ------
    RuleError
        A feature not in ``columns``, or an unknown dialect.
    """
    _check_dialect(dialect)
    marker = placeholder or DIALECTS[dialect]
    params: list = []

    def bind(value):
        params.append(value)
        return marker

    return _render(rule, columns, bind), params


def render_sql_inline(rule: Rule, columns: Mapping[str, str], dialect: str = "postgresql") -> str:
    """Render a rule as a SQL predicate with the values written inline.

    Parameters
    ----------
    rule : Rule
    columns : mapping of str to str
        As for :func:`render_sql`.
    dialect : {"postgresql", "sqlite"}

    Returns
    -------
    str
        E.g. ``'"t"."channel" IN (\\'web\\', \\'O\\'\\'Brien\\')'``; values are
        escaped with :func:`sql_literal`. Prefer :func:`render_sql` in code.
    """
    _check_dialect(dialect)
    return _render(rule, columns, sql_literal)
