"""Segmentation's part of a customer's access export: their segments, with the rules
that put them there, and the feature values those rules read.

Registered with :mod:`crm.privacy.registry` in ``SegmentationConfig.ready()``. Erasure
needs nothing here: memberships and the feature table hold ids and numbers only, and
stay so that segment sizes keep their counts.
"""

from __future__ import annotations

from typing import Any

from django.forms.models import model_to_dict

from crm.models import Customer

from .exports import render_rule
from .models import CustomerFeatures, Segment
from .rules import RuleError


def export(*, customer: Customer) -> dict[str, Any]:
    segments = (Segment.objects.filter(memberships__customer=customer)
                .select_related("run").order_by("pk"))
    features = CustomerFeatures.objects.filter(customer=customer).first()
    values = model_to_dict(features, exclude=["customer"]) if features else {}
    return {
        "segments": [{
            "id": segment.pk, "name": segment.name, "kind": segment.kind,
            "run_id": segment.run_id,
            "published": bool(segment.run and segment.run.is_published),
            "rule": segment.rule, "rule_text": _text(segment),
        } for segment in segments],
        "features": {**values, "computed_at": features.computed_at if features else None},
    }


def _text(segment: Segment) -> str | None:
    try:
        return render_rule(segment, "text")
    except RuleError:  # a stored rule that no longer parses: its JSON is exported as is
        return None


def register_privacy_hooks() -> None:
    from crm.privacy.registry import register

    register("segmentation", export=export)
