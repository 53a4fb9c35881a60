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
    assert set(rules) == {"text/plain", "application/json", "application/sql"}
    run = schema["paths"]["/api/v1/segmentations/{id}/run/"]["post"]["responses"]["202"]
    assert "Location" in run["headers"]


def test_swagger_ui_shows_it(client, superuser):
    client.force_login(superuser)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "SwaggerUIBundle" in page and "/api/v1/schema/" in page
