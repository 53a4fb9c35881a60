"""The rule model: one small AST and pure functions over it (no Django here).

Missing values: everywhere (Python evaluator, compiled predicate, SQL, Django
``Q``, JsonLogic) a condition on a missing value is False, whatever the
operator, ``!=`` and ``in`` included, as SQL ``WHERE`` on ``NULL`` -- unless the
condition has ``or_unknown``, which makes it True on a missing value in all of them.
"""

from .ast import OPERATORS, RULE_VERSION, Clause, Condition, Rule, RuleError
from .catalog import FeatureInfo, make_catalog
from .compiled import compile_rule
from .evaluate import evaluate, evaluate_all, evaluate_clause, evaluate_row, is_missing
from .export import export_rule, formats, register_format
from .jsonlogic import from_jsonlogic, to_jsonlogic
from .rounding import RoundingReport, ThresholdMove, round_thresholds
from .simplify import simplify, simplify_clause
from .sql import render_sql, render_sql_inline
from .text import format_value, render_condition, render_text
from .validate import validate_rule

__all__ = [
    "OPERATORS",
    "RULE_VERSION",
    "Clause",
    "Condition",
    "FeatureInfo",
    "RoundingReport",
    "Rule",
    "RuleError",
    "ThresholdMove",
    "compile_rule",
    "evaluate",
    "evaluate_all",
    "evaluate_clause",
    "evaluate_row",
    "export_rule",
    "format_value",
    "formats",
    "from_jsonlogic",
    "is_missing",
    "make_catalog",
    "register_format",
    "render_condition",
    "render_sql",
    "render_sql_inline",
    "render_text",
    "round_thresholds",
    "simplify",
    "simplify_clause",
    "to_jsonlogic",
    "validate_rule",
]
