"""The rule AST: conditions AND-ed into clauses, clauses OR-ed into a rule.

The versioned JSON form (:meth:`Rule.to_dict`) is the storage format::

    {"version": 1,
     "any": [{"all": [{"feature": "orders_90d", "op": ">=", "value": 3},
                      {"feature": "total_spend", "op": ">", "value": 1200}]}]}

An empty rule (no clauses) selects nobody; a clause with no conditions
selects everybody.

A condition may carry ``"or_unknown": true``: it then also holds when the
feature's value is missing (``NULL``/NaN), e.g. ``age <= 30 (or unknown)``.
The key is written only when true, so rules stored before it read unchanged.
The pipeline sets it where the clustering imputed a missing value on the
condition's side, so that every customer lands in exactly one segment.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import FEATURE_NAME_RE

__all__ = [
    "OPERATORS",
    "ORDER_OPERATORS",
    "RULE_VERSION",
    "Clause",
    "Condition",
    "Rule",
    "RuleError",
]

RULE_VERSION = 1
#: Every operator a condition may use.
OPERATORS = ("<", "<=", ">", ">=", "==", "!=", "in")
#: Operators that compare order; they need a number.
ORDER_OPERATORS = ("<", "<=", ">", ">=")

Scalar = float | int | str
Value = Scalar | tuple[Scalar, ...]


class RuleError(ValueError):
    """A rule is malformed or cannot be applied; the message names the place."""


def _scalar(value: Any, what: str) -> Scalar:
    """Normalise one value to a Python int, float or str."""
    if isinstance(value, bool) or value is None:
        raise RuleError(f"{what}: expected a number or text, got {value!r}")
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise RuleError(f"{what}: expected a finite number, got {value!r}")
        return number
    raise RuleError(f"{what}: expected a number or text, got {value!r}")


@dataclass(frozen=True)
class Condition:
    """``feature op value``; for ``in`` the value is a non-empty tuple.

    ``or_unknown``: the condition also holds when the value is missing (without
    it, a condition on a missing value is False, as SQL ``WHERE`` on ``NULL``).
    """

    feature: str
    op: str
    value: Value
    or_unknown: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.or_unknown, bool):
            raise RuleError(f"or_unknown: expected true or false, got {self.or_unknown!r}")
        if not isinstance(self.feature, str) or not FEATURE_NAME_RE.match(self.feature):
            raise RuleError(f"feature: invalid feature name {self.feature!r}")
        if self.op not in OPERATORS:
            raise RuleError(f"op: unknown operator {self.op!r}")
        if self.op == "in":
            if isinstance(self.value, str | bytes) or not isinstance(
                self.value, tuple | list | set | frozenset
            ):
                raise RuleError(f"value: 'in' needs a non-empty list, got {self.value!r}")
            items = tuple(_scalar(v, f"value[{i}]") for i, v in enumerate(self.value))
            if not items:
                raise RuleError("value: 'in' needs a non-empty list")
            object.__setattr__(self, "value", tuple(dict.fromkeys(items)))
            return
        value = _scalar(self.value, "value")
        if self.op in ORDER_OPERATORS and isinstance(value, str):
            raise RuleError(f"value: {self.op!r} needs a number, got {value!r}")
        object.__setattr__(self, "value", value)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form ``{"feature", "op", "value"}`` (``"or_unknown": true`` if set)."""
        value = list(self.value) if self.op == "in" else self.value
        out: dict[str, Any] = {"feature": self.feature, "op": self.op, "value": value}
        if self.or_unknown:
            out["or_unknown"] = True
        return out

    def with_value(self, value: Value) -> Condition:
        """The same condition (operator, ``or_unknown``) with another value."""
        return Condition(self.feature, self.op, value, self.or_unknown)

    def __str__(self) -> str:
        if self.op == "in":
            text = f"{self.feature} in ({', '.join(map(repr, self.value))})"
        else:
            text = f"{self.feature} {self.op} {self.value!r}"
        return f"({text} OR {self.feature} IS NULL)" if self.or_unknown else text


@dataclass(frozen=True)
class Clause:
    """Conditions that must all hold (AND). No conditions: everybody."""

    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        conditions = tuple(self.conditions)
        for c in conditions:
            if not isinstance(c, Condition):
                raise RuleError(f"expected a Condition, got {c!r}")
        object.__setattr__(self, "conditions", conditions)

    def __str__(self) -> str:
        if not self.conditions:
            return "TRUE"
        return " AND ".join(map(str, self.conditions))


@dataclass(frozen=True)
class Rule:
    """Clauses of which at least one must hold (OR). No clauses: nobody."""

    clauses: tuple[Clause, ...] = ()

    def __post_init__(self) -> None:
        clauses = tuple(self.clauses)
        for c in clauses:
            if not isinstance(c, Clause):
                raise RuleError(f"expected a Clause, got {c!r}")
        object.__setattr__(self, "clauses", clauses)

    @classmethod
    def nobody(cls) -> Rule:
        """Return the rule that selects nobody."""
        return cls(())

    @classmethod
    def everyone(cls) -> Rule:
        """Return the rule that selects everybody (one empty clause)."""
        return cls((Clause(()),))

    def features(self) -> tuple[str, ...]:
        """Return the features the rule mentions, in order of first use."""
        names = (c.feature for clause in self.clauses for c in clause.conditions)
        return tuple(dict.fromkeys(names))

    def to_dict(self) -> dict[str, Any]:
        """Return the versioned JSON form (the storage format)."""
        return {
            "version": RULE_VERSION,
            "any": [{"all": [c.to_dict() for c in clause.conditions]} for clause in self.clauses],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """Parse the JSON form.

        Parameters
        ----------
        data : mapping
            As produced by :meth:`to_dict`.

        Returns
        -------
        Rule

        Raises
        ------
        RuleError
            With a message that starts with the place, e.g.
            ``"any[0].all[1].op: unknown operator '=<'"``.
        """
        if not isinstance(data, Mapping):
            raise RuleError(f"rule: expected an object, got {type(data).__name__}")
        extra = sorted(set(data) - {"version", "any"})
        if extra:
            raise RuleError(f"rule: unexpected key {extra[0]!r}")
        version = data.get("version")
        if version != RULE_VERSION or isinstance(version, bool):
            raise RuleError(f"version: unsupported version {version!r} (expected {RULE_VERSION})")
        clauses_data = data.get("any")
        if not isinstance(clauses_data, list | tuple):
            raise RuleError("any: expected a list of clauses")
        clauses = []
        for i, clause_data in enumerate(clauses_data):
            where = f"any[{i}]"
            if not isinstance(clause_data, Mapping) or set(clause_data) != {"all"}:
                raise RuleError(f"{where}: expected an object with the single key 'all'")
            conditions_data = clause_data["all"]
            if not isinstance(conditions_data, list | tuple):
                raise RuleError(f"{where}.all: expected a list of conditions")
            conditions = [
                _condition_from_dict(c, f"{where}.all[{j}]") for j, c in enumerate(conditions_data)
            ]
            clauses.append(Clause(tuple(conditions)))
        return cls(tuple(clauses))

    def __str__(self) -> str:
        if not self.clauses:
            return "FALSE"
        if len(self.clauses) == 1:
            return str(self.clauses[0])
        return " OR ".join(f"({c})" for c in self.clauses)


def _condition_from_dict(data: Any, where: str) -> Condition:
    if not isinstance(data, Mapping):
        raise RuleError(f"{where}: expected an object with feature, op and value")
    for key in data:
        if key not in ("feature", "op", "value", "or_unknown"):
            raise RuleError(f"{where}: unexpected key {key!r}")
    for key in ("feature", "op", "value"):
        if key not in data:
            raise RuleError(f"{where}.{key}: missing")
    value = data["value"]
    if data["op"] == "in" and isinstance(value, list):
        value = tuple(value)
    or_unknown = data.get("or_unknown", False)
    if not isinstance(or_unknown, bool):
        raise RuleError(f"{where}.or_unknown: expected true or false, got {or_unknown!r}")
    try:
        return Condition(data["feature"], data["op"], value, or_unknown)
    except RuleError as exc:
        raise RuleError(f"{where}.{exc}") from None
