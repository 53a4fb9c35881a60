"""The rule builder of the segment admin: rows of feature / operator / value, no JSON typed.

Each row has an "or unknown" checkbox: ticked, the condition also matches customers
whose value is missing (the stored ``"or_unknown": true``).

The builder is a widget over the rule's JSON textarea (which stays as the
"Advanced" tab): ``segmentation/static/segmentation/rule_builder.js`` draws the
rows from the feature catalog given here (labels in the user's language, units),
writes the stored JSON form into the textarea as a person edits, and asks
:func:`preview` for the live count of matching customers and the sentence in both
languages. The form saves the same JSON as before (``services.save_manual_segment``).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import get_language, gettext, pgettext

from crm.templatetags.rulecast_format import currency_symbol

from . import services
from .features import registry
from .querying import members_queryset
from .rules import RuleError, render_text
from .rules.text import normalise_lang

#: Operators a person picks from, by feature kind (the stored symbols are the keys).
NUMERIC_OPS = (">=", ">", "<=", "<", "==", "!=")
CATEGORICAL_OPS = ("==", "!=", "in")
PERCENT_UNITS = ("share", "rate")


def operator_labels() -> dict[str, str]:
    return {
        ">=": gettext("at least"), ">": gettext("more than"), "<=": gettext("at most"),
        "<": gettext("less than"), "==": gettext("equal to"), "!=": gettext("not equal to"),
        "in": gettext("one of (comma-separated)"),
    }


def unit_label(unit: str) -> str:
    """What the value box is measured in, as a person reads it."""
    return {
        "days": gettext("days"), "orders": gettext("orders"), "yuan": currency_symbol(),
        "money": currency_symbol(),
        "years": gettext("years"), "sessions": gettext("sessions"), "share": "%", "rate": "%",
    }.get(unit, "")


def builder_catalog(lang: str) -> list[dict[str, Any]]:
    """Every registered feature as the builder shows it (label in ``lang``, unit, operators).

    ``scale`` is what a typed value is divided by before it is stored: shares and
    rates are typed as percentages (35) and stored as fractions (0.35).
    """
    lang = normalise_lang(lang)
    return [
        {
            "name": info.name,
            "label": info.label(lang),
            "unit": unit_label(info.unit),
            "kind": info.kind,
            "ops": list(CATEGORICAL_OPS if info.kind == "categorical" else NUMERIC_OPS),
            "scale": 100 if info.unit in PERCENT_UNITS else 1,
        }
        for info in registry.catalog().values()
    ]


def builder_texts() -> dict[str, str]:
    """The builder's words, translated here so the JavaScript needs no catalog."""
    return {
        "builder": gettext("Builder"),
        "advanced": gettext("Advanced (JSON)"),
        "clause": gettext("Customers who match all of:"),
        "or": pgettext("between two groups of conditions", "or"),
        "and": pgettext("between two conditions", "and"),
        "add_condition": gettext("+ condition"),
        "add_clause": gettext("+ another group (or)"),
        "remove": gettext("Remove"),
        "feature": gettext("feature"),
        "operator": gettext("operator"),
        "value": gettext("value"),
        "matching": gettext("Matching customers now:"),
        "of": gettext("of"),
        "incomplete": gettext("Choose a feature and type a value in every row."),
        "unreadable": gettext(
            "This rule cannot be shown as rows (it uses JsonLogic or a form the builder "
            "does not draw); edit it in the Advanced tab."),
        "english": gettext("In English"),
        "chinese": gettext("In Chinese"),
        "checking": gettext("Counting…"),
        "or_unknown": gettext("or unknown"),
        "or_unknown_help": gettext(
            "Also match customers whose value is not known (no birth date, a single order…)."),
    }


class RuleBuilderWidget(forms.Textarea):
    """The JSON textarea wrapped in tabs: the builder first, the JSON as "Advanced"."""

    template_name = "segmentation/widgets/rule_builder.html"

    class Media:
        css = {"all": ["segmentation/rule_builder.css"]}
        js = ["segmentation/rule_builder.js"]

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs={"rows": 10, "cols": 80, **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["builder"] = {
            "features": builder_catalog(get_language() or "en"),
            "texts": builder_texts(),
            "ops": operator_labels(),
            "preview_url": reverse("admin:segmentation_segment_builder_preview"),
        }
        context["builder_id"] = f"{attrs.get('id') or name}-builder"
        context["builder_catalog_id"] = f"{context['builder_id']}-catalog"
        return context


# --- the live preview -----------------------------------------------------------------------


def rule_preview(document: Any, fmt: str = "json") -> dict[str, Any]:
    """Count and sentences of a rule being written; ``error`` says why it is not valid yet."""
    from crm.models import Customer

    try:
        rule = services.parse_rule_document(document, fmt)
    except RuleError as error:
        return {"ok": False, "error": str(error)}
    catalog = registry.catalog()
    return {
        "ok": True,
        "count": members_queryset(rule).count(),
        "total": Customer.objects.count(),
        "sentence_en": render_text(rule, catalog, lang="en"),
        "sentence_zh": render_text(rule, catalog, lang="zh"),
        "rule": rule.to_dict(),
    }


def preview(model_admin, request: HttpRequest) -> JsonResponse:
    """GET ?rule=<JSON>&format=json|jsonlogic: the builder's count and sentences."""
    if not (model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)):
        raise PermissionDenied
    try:
        document = json.loads(request.GET.get("rule") or "")
    except json.JSONDecodeError as error:
        return JsonResponse({"ok": False, "error": gettext("Not JSON: %(error)s")
                             % {"error": error}})
    fmt = request.GET.get("format") or "json"
    return JsonResponse(rule_preview(document, fmt if fmt in ("json", "jsonlogic") else "json"))


def builder_urls(model_admin) -> list[URLPattern]:
    """URL patterns for ``SegmentAdmin.get_urls``, wrapped by the admin site."""
    return [
        path("builder/preview/", model_admin.admin_site.admin_view(partial(preview, model_admin)),
             name="segmentation_segment_builder_preview"),
    ]
