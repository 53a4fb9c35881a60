"""The OpenAPI schema: valid, without warnings, and shown by Swagger UI."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    # As `DEBUG=1 manage.py spectacular --validate --fail-on-warn` does.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))
    assert "/api/v1/customers/bulk/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_is_served(api):
    response = api.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(method, path) for path, item in schema["paths"].items() for method in item}
    for expected in [
        ("post", "/api/v1/customers/bulk/"), ("post", "/api/v1/orders/bulk/"),
        ("post", "/api/v1/events/bulk/"), ("post", "/api/v1/segmentations/{id}/run/"),
        ("post", "/api/v1/runs/{id}/publish/"), ("get", "/api/v1/segments/{id}/rules/"),
        ("get", "/api/v1/segments/{id}/members/"), ("post", "/api/v1/campaigns/{id}/launch/"),
        ("get", "/api/v1/campaigns/{id}/stats/"), ("post", "/api/v1/token/"),
    ]:
        assert expected in operations
    rules = schema["paths"]["/api/v1/segments/{id}/rules/"]["get"]["responses"]["200"]["content"]
    assert list(rules) == ["application/json", "text/plain", "application/sql"]
    assert rules["application/json"]["schema"] == {"$ref": "#/components/schemas/RuleExport"}
    run = schema["paths"]["/api/v1/segmentations/{id}/run/"]["post"]["responses"]["202"]
    assert "Location" in run["headers"]


def test_swagger_ui_shows_it(client, superuser):
    client.force_login(superuser)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "SwaggerUIBundle" in page and "/api/v1/schema/" in page


def test_the_schema_tells_the_truth(api):
    """What the API does, as the schema states it (each point once failed)."""
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    # Refusals because of state are documented 409s with a body.
    for path in ("/api/v1/campaigns/{id}/", "/api/v1/segmentations/{id}/",
                 "/api/v1/runs/{id}/", "/api/v1/segments/{id}/"):
        conflict = paths[path]["delete"]["responses"]["409"]
        assert conflict["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}, path
    # Constraints match the validators.
    segmentation = components["SegmentationRequest"]["properties"]
    assert segmentation["n_clusters"]["minimum"] == 2
    assert segmentation["sample_size"]["minimum"] == 100
    assert components["CampaignRequest"]["properties"]["segments"]["minItems"] == 1
    assert "minItems" not in components["Campaign"]["properties"]["segments"]
    # Read-only fields stay out of request models (COMPONENT_SPLIT_REQUEST).
    for name in ("OrderRequest", "CustomerRequest", "CampaignRequest"):
        assert not {"id", "created_at"} & set(components[name]["properties"]), name
    # The token endpoint takes JSON only.
    token = paths["/api/v1/token/"]["post"]
    assert list(token["requestBody"]["content"]) == ["application/json"]
    assert "415" in token["responses"]


def test_the_token_endpoint_refuses_forms(db, superuser):
    from rest_framework.test import APIClient

    client = APIClient()
    form = client.post("/api/v1/token/", {"username": "boss", "password": "pw-not-used-1"})
    assert form.status_code == 415
    as_json = client.post("/api/v1/token/", {"username": "boss", "password": "pw-not-used-1"},
                          format="json")
    assert as_json.status_code == 200 and as_json.json()["token"]


def test_rule_exports_answer_json_for_json_and_text_for_text(api, world):
    segment = world["segments"][0]
    as_json = api.get(f"/api/v1/segments/{segment.pk}/rules/", {"format": "json"})
    assert as_json["Content-Type"] == "application/json"
    assert as_json.json()["segments"][0]["rule"]["version"] == 1
    logic = api.get(f"/api/v1/segments/{segment.pk}/rules/", {"format": "jsonlogic"})
    assert logic["Content-Type"] == "application/json" and logic.json()["format"] == "jsonlogic"
    text = api.get(f"/api/v1/segments/{segment.pk}/rules/", {"format": "text"})
    assert text["Content-Type"].startswith("text/plain") and segment.name in text.content.decode()
