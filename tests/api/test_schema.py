"""The OpenAPI schema: valid, without warnings, and shown by Swagger UI."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    # As `DEBUG=1 manage.py spectacular --validate --fail-on-warn` does.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))
    assert "/api/customers/bulk/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_is_served(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(method, path) for path, item in schema["paths"].items() for method in item}
    for expected in [
        ("post", "/api/customers/bulk/"), ("post", "/api/orders/bulk/"),
        ("post", "/api/events/bulk/"), ("post", "/api/segmentations/{id}/run/"),
        ("post", "/api/runs/{id}/publish/"), ("get", "/api/segments/{id}/rules/"),
        ("get", "/api/segments/{id}/members/"), ("post", "/api/campaigns/{id}/launch/"),
        ("get", "/api/campaigns/{id}/stats/"), ("post", "/api/token/"),
    ]:
        assert expected in operations
    rules = schema["paths"]["/api/segments/{id}/rules/"]["get"]["responses"]["200"]["content"]
    assert set(rules) == {"text/plain", "application/json", "application/sql"}
    run = schema["paths"]["/api/segmentations/{id}/run/"]["post"]["responses"]["202"]
    assert "Location" in run["headers"]


def test_swagger_ui_shows_it(client, superuser):
    client.force_login(superuser)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "SwaggerUIBundle" in page and "/api/schema/" in page
