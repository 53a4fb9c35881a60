"""Input limits: deep or huge JSON is a 400 with the reason, never a 500; "everyone" is a
choice, never a slip."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from crm.api.parsers import JSONLimitError, json_depth, load_json
from segmentation.models import Segment

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000  # 10 KB


def nested(depth: int) -> dict:
    document: dict = {"leaf": 1}
    for _ in range(depth - 1):
        document = {"n": document}
    return document


@pytest.mark.parametrize("path", ["/api/v1/customers/", "/api/v1/customers/bulk/",
                                  "/api/v1/segments/", "/api/v1/campaigns/"])
def test_deep_json_is_a_400_with_the_reason(api, path):
    response = api.post(path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nests deeper than 32 levels" in response.json()["detail"]


def test_the_anonymous_token_endpoint_refuses_deep_json_too(db):
    response = APIClient().post("/api/v1/token/", DEEP, content_type="application/json")
    assert response.status_code == 400 and "nests deeper" in response.json()["detail"]


def test_a_body_over_the_size_limit_is_refused(api, settings):
    settings.RULECAST_CRM = {"JSON_MAX_BYTES": 1000}
    body = json.dumps({"items": [{"email": f"c{n}@example.com"} for n in range(100)]})
    response = api.post("/api/v1/customers/bulk/", body, content_type="application/json")
    assert response.status_code == 400 and "larger than 1000 bytes" in response.json()["detail"]


def test_depth_is_measured_without_recursion():
    assert json_depth(1) == 0 and json_depth([]) == 1 and json_depth({"a": [{}]}) == 3
    assert json_depth(json.loads("[" * 900 + "]" * 900)) == 900
    assert load_json(json.dumps(nested(32))) == nested(32)
    with pytest.raises(JSONLimitError, match="deeper"):
        load_json(json.dumps(nested(33)))
    with pytest.raises(JSONLimitError, match="Not JSON"):
        load_json("[NaN]")


EVERYONE = {"version": 1, "any": [{"all": []}]}


def test_an_empty_clause_needs_the_everyone_choice(api):
    refused = api.post("/api/v1/segments/", {"name": "All", "rule": EVERYONE}, format="json")
    assert refused.status_code == 400
    assert "choose 'everyone' explicitly" in refused.json()["rule"][0]
    assert not Segment.objects.filter(name="All").exists()

    chosen = api.post("/api/v1/segments/", {"name": "All", "rule": EVERYONE, "everyone": True},
                      format="json")
    assert chosen.status_code == 201, chosen.content
    assert Segment.objects.get(name="All").rule == EVERYONE
