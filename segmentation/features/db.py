"""Portable date arithmetic for feature expressions (PostgreSQL and SQLite)."""

from datetime import datetime

from django.db.models import FloatField, Func, Value


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


def epoch_days(moment: datetime) -> Value:
    """A constant: the day number of ``moment`` (aware), comparable with EpochDays."""
    return Value(moment.timestamp() / 86400.0, output_field=FloatField())


def days_since(now: datetime, expression) -> Func:
    """Whole-and-fractional days from ``expression`` to ``now``."""
    return epoch_days(now) - EpochDays(expression)
