"""Portable date arithmetic for feature expressions (PostgreSQL and SQLite)."""

from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, Expression, F, FloatField, Func, Q, Value
from django.db.models.functions import Floor


class EpochDays(Func):
    """Days since 1970-01-01 UTC of a date or datetime, as a float."""

    output_field = FloatField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection,
            template="(EXTRACT(EPOCH FROM %(expressions)s)::double precision / 86400.0)",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="(julianday(%(expressions)s) - 2440587.5)", **extra
        )


class AnyOf(Func):
    """``column = ANY(ids)`` (PostgreSQL): one array parameter for any number of ids.

    ``__in`` with 5,000 ids compiled 5,000 placeholders per source: 190 ms for a batch of
    a live refresh, against 14 ms for one id.
    """

    output_field = BooleanField()
    arity = 1

    def __init__(self, column: str, ids) -> None:
        super().__init__(F(column))
        self.ids = [int(i) for i in ids]

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{sql} = ANY(%s::bigint[])", (*params, self.ids)


def among(column: str, ids) -> AnyOf | Q:
    """A filter keeping the rows whose ``column`` is one of ``ids``: :class:`AnyOf` on
    PostgreSQL (5,000 ids counted in about 100 ms against 140-270 ms through ``__in``),
    ``__in`` elsewhere."""
    if connection.vendor == "postgresql":
        return AnyOf(column, ids)
    return Q(**{f"{column}__in": list(ids)})


class NonNegative(Func):
    """``expression``, or 0 where it is negative; NULL stays NULL (not GREATEST's 0)."""

    output_field = FloatField()
    arity = 1

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CASE WHEN ({sql}) < 0 THEN 0.0 ELSE ({sql}) END)", (*params, *params)


class OrderColumn(Expression):
    """A per-order column the orders source adds with a window function.

    The orders source of the feature query reads a derived table of the
    customer's orders with these columns added (``compute.ORDER_WINDOWS``), so
    an aggregate over them is still one scan of the orders.
    """

    output_field = FloatField()

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __repr__(self) -> str:
        return f"OrderColumn({self.name!r})"

    def as_sql(self, compiler, connection):
        from crm.models import Order

        qn = connection.ops.quote_name
        return f"{qn(Order._meta.db_table)}.{qn(self.name)}", []

    def get_group_by_cols(self):
        return [self]


def epoch_days(moment: datetime) -> Value:
    """A constant: the day number of ``moment`` (aware), comparable with EpochDays."""
    return Value(moment.timestamp() / 86400.0, output_field=FloatField())


def days_since(as_of: datetime, expression) -> Func:
    """Whole days from ``expression`` to ``as_of`` (rounded down, never below 0)."""
    return NonNegative(Floor(epoch_days(as_of) - EpochDays(expression)))
