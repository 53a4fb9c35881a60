"""The API's URLs: its roots, version 1, redirects from unversioned paths, offline docs."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

from crm.models import Customer

pytestmark = pytest.mark.django_db


def test_the_api_root_lists_its_roots(api):
    assert APIClient().get("/api/").status_code == 401
    roots = api.get("/api/").json()
    assert roots["current"] == "v1"
    assert roots["versions"] == {"v1": "http://testserver/api/v1/"}
    assert roots["token"] == "http://testserver/api/v1/token/"
    assert roots["schema"] == "http://testserver/api/v1/schema/"
    assert roots["docs"] == "http://testserver/api/v1/docs/"
    v1 = api.get("/api/v1/").json()
    assert v1["customers"] == "http://testserver/api/v1/customers/"
    assert set(v1) == {"customers", "orders", "events", "segmentations", "runs", "segments",
                       "campaigns"}
    for url in v1.values():
        assert api.get(url).status_code == 200, url


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_unversioned_paths_redirect_keeping_the_method(api, world, method):
    body = {} if method == "get" else {"email": "x@example.com"}
    response = getattr(api, method)("/api/customers/?page=1", body, format="json")
    assert response.status_code == 308
    assert response["Location"] == "/api/v1/customers/?page=1"


def test_an_old_post_still_works_when_the_redirect_is_followed(api):
    response = api.post("/api/customers/", {"email": "old@example.com"}, format="json",
                        follow=True)
    assert response.status_code == 201
    assert Customer.objects.filter(email="old@example.com").exists()
    token = APIClient().post("/api/token/", {"username": "boss", "password": "x"},
                             format="json")
    assert token.status_code == 308 and token["Location"] == "/api/v1/token/"


def test_unknown_api_paths_are_404(api):
    assert api.get("/api/nothing/").status_code == 404
    assert api.get("/api/v2/customers/").status_code == 404


def test_the_docs_load_nothing_from_the_internet(client, superuser):
    client.force_login(superuser)
    page = client.get("/api/v1/docs/").content.decode()
    assert "SwaggerUIBundle" in page and "/api/v1/schema/" in page
    assert "cdn" not in page.lower() and "https://" not in page
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        path = f"drf_spectacular_sidecar/swagger-ui-dist/{name}"
        assert f"/static/{path}" in page
        assert finders.find(path), f"{path} is not among the static files"


def test_tokens_work_whatever_the_hosts_authentication_classes(api, world, settings):
    """A host sets only drf-spectacular's schema class (as drf-spectacular asks); the
    API brings its own authentication (token or session), permissions and paging."""
    settings.REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    for url in ("/api/", "/api/v1/", "/api/v1/customers/", "/api/v1/campaigns/",
                "/api/v1/schema/?format=json"):
        assert api.get(url).status_code == 200, url
    assert APIClient().get("/api/v1/customers/").status_code == 401
