"""Rules as database queries: a Django ``Q`` over the feature table, and SQL columns.

The feature table is :class:`~segmentation.models.CustomerFeatures`: one
``FloatField`` per built-in feature, host-registered features in the ``extra``
JSON (numbers, or text for categorical features). ``rule_to_q`` and
``feature_columns`` map every feature of the registry to that storage, so the
``Q``, the SQL of :mod:`segmentation.rules.sql` and the Python evaluator select
the same customers.

Missing values
--------------
A missing feature is ``NULL`` (a null or absent key in ``extra``), and a
condition on it is False, ``!=`` included: ``x != v`` is rendered as
``x IS NOT NULL AND NOT (x = v)`` because Django's ``~Q(x=v)`` alone would
select the ``NULL`` rows. A condition with ``or_unknown`` is True on ``NULL``:
``(test) OR x IS NULL``. A customer without a feature row is in no segment.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, FloatField, Func, Q, QuerySet, TextField
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)

from .features.registry import FeatureRegistry, registry
from .models import CustomerFeatures
from .rules.ast import Clause, Condition, Rule, RuleError
from .rules.export import register_format
from .rules.sql import render_sql, render_sql_inline
from .rules.validate import validate_rule

__all__ = ["ExtraFeature", "feature_columns", "members_queryset", "rule_sql", "rule_to_q"]

#: Built-in features stored as their own column of CustomerFeatures.
COLUMN_FEATURES = frozenset(
    f.name for f in CustomerFeatures._meta.concrete_fields if isinstance(f, FloatField)
)

_LOOKUPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte", "==": "exact", "in": "in"}
_EXPRESSIONS = {
    "<": LessThan,
    "<=": LessThanOrEqual,
    ">": GreaterThan,
    ">=": GreaterThanOrEqual,
    "==": Exact,
    "in": In,
}


def _is_categorical(name: str, features: FeatureRegistry) -> bool:
    return features[name].info.kind == "categorical"


def feature_columns(
    connection: BaseDatabaseWrapper | None = None,
    *,
    vendor: str | None = None,
    features: FeatureRegistry = registry,
) -> dict[str, str]:
    """Map every registered feature to a trusted SQL expression over the feature table.

    Parameters
    ----------
    connection : database connection, optional
        Default: the default database.
    vendor : {"postgresql", "sqlite"}, optional
        Overrides ``connection.vendor`` (to render SQL for another database).
    features : FeatureRegistry

    Returns
    -------
    dict of str to str
        For :func:`segmentation.rules.sql.render_sql`. Built-in columns are
        quoted and qualified (``"segmentation_customerfeatures"."total_spend"``);
        extra features read the JSON: ``("…"."extra" ->> 'name')::double precision``
        on PostgreSQL, ``json_extract("…"."extra", '$.name')`` on SQLite (text for
        categorical features).
    """
    connection = connection or connections[DEFAULT_DB_ALIAS]
    vendor = vendor or connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise RuleError(f"no SQL for database vendor {vendor!r}: use PostgreSQL or SQLite")
    table = '"' + CustomerFeatures._meta.db_table + '"'
    columns: dict[str, str] = {}
    for feature in features:
        name = feature.name  # [a-z_][a-z0-9_]*: safe inside quotes
        if name in COLUMN_FEATURES:
            columns[name] = f'{table}."{name}"'
        elif vendor == "postgresql":
            text = f"({table}.\"extra\" ->> '{name}')"
            columns[name] = text if _is_categorical(name, features) else f"{text}::double precision"
        else:
            columns[name] = f"json_extract({table}.\"extra\", '$.{name}')"
    return columns


class ExtraFeature(Func):
    """One key of ``CustomerFeatures.extra`` as a SQL value; NULL when absent or JSON null.

    Django's ``KT()`` is not used: on SQLite it turns a JSON ``null`` into the
    text ``'null'`` (and a cast of it into 0.0), which would make a missing value
    match ``!=`` and ``<``.
    """

    arity = 1

    def __init__(self, name: str, categorical: bool = False) -> None:
        output = TextField() if categorical else FloatField()
        super().__init__(F("extra"), output_field=output)
        self.key = name
        self.categorical = categorical

    def as_sql(self, compiler, connection, **extra_context):
        raise RuleError(f"no SQL for database vendor {connection.vendor!r}")

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({sql}, %s)", [*params, f"$.{self.key}"]

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        text = f"({sql} ->> %s)"
        return (text if self.categorical else f"{text}::double precision"), [*params, self.key]


def _extra(name: str, features: FeatureRegistry) -> ExtraFeature:
    return ExtraFeature(name, _is_categorical(name, features))


def _condition_q(cond: Condition, features: FeatureRegistry) -> Q:
    test, missing = _test_q(cond, features)
    return test | missing if cond.or_unknown else test


def _test_q(cond: Condition, features: FeatureRegistry) -> tuple[Q, Q]:
    """The condition on a present value, and the ``IS NULL`` test of its feature."""
    value = list(cond.value) if cond.op == "in" else cond.value
    if cond.feature in COLUMN_FEATURES:
        missing = Q(**{f"{cond.feature}__isnull": True})
        if cond.op == "!=":
            return Q(**{f"{cond.feature}__isnull": False}) & ~Q(**{cond.feature: value}), missing
        return Q(**{f"{cond.feature}__{_LOOKUPS[cond.op]}": value}), missing
    column = _extra(cond.feature, features)
    missing = Q(IsNull(column, True))
    if cond.op == "!=":
        return Q(IsNull(column, False)) & ~Q(Exact(column, value)), missing
    return Q(_EXPRESSIONS[cond.op](column, value)), missing


def _clause_q(clause: Clause, features: FeatureRegistry) -> Q:
    q = Q()
    for cond in clause.conditions:
        q &= _condition_q(cond, features)
    return q


def rule_to_q(rule: Rule | dict[str, Any], features: FeatureRegistry = registry) -> Q:
    """Return a ``Q`` over CustomerFeatures selecting the rows the rule selects.

    Parameters
    ----------
    rule : Rule or dict
        A rule or its stored JSON form; checked against the registry's catalog.
    features : FeatureRegistry

    Returns
    -------
    Q
        ``Q()`` (everyone) when a clause is empty; a never-true ``Q`` for the
        empty rule. Missing values are False, True with ``or_unknown`` (see the
        module docstring).

    Raises
    ------
    RuleError
        Malformed rule, unknown feature, wrong operator or value type.
    """
    rule = validate_rule(rule, features.catalog(), allow_everyone=True)
    if not rule.clauses:
        return Q(pk__in=[])
    if any(not clause.conditions for clause in rule.clauses):
        return Q()
    q = _clause_q(rule.clauses[0], features)
    for clause in rule.clauses[1:]:
        q |= _clause_q(clause, features)
    return q


def members_queryset(rule: Rule | dict[str, Any], features: FeatureRegistry = registry) -> QuerySet:
    """Return the customers whose feature row the rule selects (a live queryset).

    Parameters
    ----------
    rule : Rule or dict
    features : FeatureRegistry

    Returns
    -------
    QuerySet of crm.Customer
    """
    from crm.models import Customer

    rows = CustomerFeatures.objects.filter(rule_to_q(rule, features)).values("customer_id")
    return Customer.objects.filter(pk__in=rows)


def rule_sql(
    rule: Rule | dict[str, Any],
    *,
    inline: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    features: FeatureRegistry = registry,
) -> tuple[str, list] | str:
    """Render a rule as a ``WHERE`` predicate over ``segmentation_customerfeatures``.

    Parameters
    ----------
    rule : Rule or dict
    inline : bool
        True: values as literals (a string, for copy and paste); False:
        ``(sql, params)`` with ``%s`` markers, for Django's ``cursor.execute``.
    using : str
        Database alias: its vendor picks the dialect.
    features : FeatureRegistry

    Returns
    -------
    tuple of (str, list), or str
    """
    connection = connections[using]
    rule = validate_rule(rule, features.catalog(), allow_everyone=True)
    columns = feature_columns(connection, features=features)
    if inline:
        return render_sql_inline(rule, columns, connection.vendor)
    return render_sql(rule, columns, connection.vendor, placeholder="%s")


register_format("q", rule_to_q)
