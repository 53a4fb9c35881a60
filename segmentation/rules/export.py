"""One registry of rule formats: ``export_rule(rule, fmt, **options)``.

Each format is a pure function of the AST (and of its options); none walks a
tree or reads a database. Built in:

========== ===================================================== ==========================
format     returns                                               options
========== ===================================================== ==========================
text       a sentence (:func:`~.text.render_text`)               ``catalog``, ``lang``
json       the versioned stored form (:meth:`Rule.to_dict`)
jsonlogic  JsonLogic (:func:`~.jsonlogic.to_jsonlogic`)
sql        ``(where, params)`` (:func:`~.sql.render_sql`)        ``columns``, ``dialect``,
                                                                 ``placeholder``
sql_inline a ``WHERE`` predicate with literals                   ``columns``, ``dialect``
python     ``f(features) -> bool`` (:func:`~.compiled.compile_rule`)
========== ===================================================== ==========================

The Django side registers ``q`` (a ``Q`` over the feature table) when
:mod:`segmentation.querying` is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .ast import Rule, RuleError
from .catalog import FeatureInfo
from .compiled import compile_rule
from .jsonlogic import to_jsonlogic
from .sql import render_sql, render_sql_inline
from .text import render_text

__all__ = ["export_rule", "formats", "register_format"]

Renderer = Callable[..., Any]

_FORMATS: dict[str, Renderer] = {}


def register_format(name: str, renderer: Renderer, *, replace: bool = False) -> Renderer:
    """Add a format: ``renderer(rule, **options)``.

    Parameters
    ----------
    name : str
    renderer : callable
    replace : bool
        Allow replacing an existing format of that name.

    Returns
    -------
    callable
        ``renderer``, so this works as a decorator helper.
    """
    if name in _FORMATS and not replace and _FORMATS[name] is not renderer:
        raise ValueError(f"rule format {name!r} is already registered")
    _FORMATS[name] = renderer
    return renderer


def formats() -> tuple[str, ...]:
    """Return the names of the registered formats."""
    return tuple(_FORMATS)


def export_rule(rule: Rule | Mapping[str, Any], fmt: str = "json", **options: Any) -> Any:
    """Render a rule in one of the registered formats.

    Parameters
    ----------
    rule : Rule or mapping
        A rule or its stored JSON form.
    fmt : str
        A name from :func:`formats`: ``text``, ``json``, ``jsonlogic``, ``sql``,
        ``sql_inline``, ``python`` (and ``q`` once :mod:`segmentation.querying`
        is imported).
    **options
        Passed to the format's renderer (see the module docstring).

    Returns
    -------
    object
        What the format's renderer returns.

    Raises
    ------
    RuleError
        Unknown format, malformed rule, or whatever the renderer refuses.
    """
    if fmt not in _FORMATS:
        hint = " (import segmentation.querying for 'q')" if fmt == "q" else ""
        raise RuleError(f"unknown rule format {fmt!r}: use one of {', '.join(_FORMATS)}{hint}")
    if not isinstance(rule, Rule):
        rule = Rule.from_dict(rule)
    return _FORMATS[fmt](rule, **options)


def _text(rule: Rule, catalog: Mapping[str, FeatureInfo] | None = None, lang: str = "en") -> str:
    return render_text(rule, catalog or {}, lang)


def _json(rule: Rule) -> dict[str, Any]:
    return rule.to_dict()


register_format("text", _text)
register_format("json", _json)
register_format("jsonlogic", to_jsonlogic)
register_format("sql", render_sql)
register_format("sql_inline", render_sql_inline)
register_format("python", compile_rule)
