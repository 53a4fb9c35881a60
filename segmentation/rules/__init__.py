"""The rule model: one small AST and pure functions over it (no Django here)."""

from .ast import OPERATORS, RULE_VERSION, Clause, Condition, Rule, RuleError
from .catalog import FeatureInfo, make_catalog
from .evaluate import evaluate, evaluate_clause, evaluate_row, is_missing
from .simplify import simplify, simplify_clause
from .text import format_value, render_condition, render_text

__all__ = [
    "OPERATORS",
    "RULE_VERSION",
    "Clause",
    "Condition",
    "FeatureInfo",
    "Rule",
    "RuleError",
    "evaluate",
    "evaluate_clause",
    "evaluate_row",
    "format_value",
    "is_missing",
    "make_catalog",
    "render_condition",
    "render_text",
    "simplify",
    "simplify_clause",
]
