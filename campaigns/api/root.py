"""The whole Rulecast API under one include: ``path("api/", include("campaigns.api.root"))``.

- ``v1/``: every app's endpoints (crm, segmentation, campaigns), ``v1/token/``,
  ``v1/schema/`` (OpenAPI 3) and ``v1/docs/`` (Swagger UI served from
  drf-spectacular-sidecar's static files: it works offline, no CDN);
- ``""``: the API's roots (its versions, the token, schema and docs);
- the unversioned paths of earlier releases (``customers/...``, ``token/``, ...)
  answer 308 to the same path under ``v1/``: the method and body are kept, so old
  clients' POSTs keep working.

It lives in campaigns, the app above the two others, so it may name all three.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.urls import include, path, re_path, reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView, _get_sidecar_url
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.base import AUTHENTICATION_CLASSES
from crm.api.schema import RulecastAutoSchema
from crm.api.token import TokenView

VERSION = "v1"
RESOURCES = {  # each collection's route name, in the order the root lists them
    "customers": "customer-list", "orders": "order-list", "events": "event-list",
    "segmentations": "segmentation-list", "runs": "segmentationrun-list",
    "segments": "segment-list", "campaigns": "campaign-list",
}
# The schema's settings whatever the host's SPECTACULAR_SETTINGS say: read-only fields
# stay out of request models, so generated clients never ask for ``id`` or ``created_at``.
# Operations are tagged by their collection (customers, segments...), not by "v1".
SCHEMA_SETTINGS = {"COMPONENT_SPLIT_REQUEST": True, "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+"}
# First path segments of the unversioned API (before v1), redirected to v1.
OLD_ROOTS = (*RESOURCES, "token", "schema", "docs")


def _links(request, names: dict[str, str]) -> dict[str, str]:
    return {key: request.build_absolute_uri(reverse(name)) for key, name in names.items()}


class RootViewMixin:
    """Whatever the host's REST_FRAMEWORK settings: token or session, a drf-spectacular
    schema (its generator asserts one on every view it meets)."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated]
    schema = RulecastAutoSchema()


class ApiRootView(RootViewMixin, APIView):
    """``GET /api/``: the API's versions and where to get a token, the schema and the docs."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return Response({
            "versions": _links(request, {VERSION: "rulecast-api-v1"}),
            "current": VERSION,
            **_links(request, {"token": "rulecast-api-token", "schema": "rulecast-api-schema",
                               "docs": "rulecast-api-docs"}),
        })


class VersionRootView(RootViewMixin, APIView):
    """``GET /api/v1/``: every collection of this version."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return Response(_links(request, RESOURCES))


class SchemaView(RootViewMixin, SpectacularAPIView):
    """The OpenAPI schema, with the API's own schema settings (SCHEMA_SETTINGS)."""

    custom_settings = SCHEMA_SETTINGS


class OfflineSwaggerView(RootViewMixin, SpectacularSwaggerView):
    """Swagger UI from drf-spectacular-sidecar's static files, whatever the host's
    SPECTACULAR_SETTINGS say: the docs page loads nothing from the internet."""

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return _get_sidecar_url(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return _get_sidecar_url("swagger-ui-dist/favicon-32x32.png")


def redirect_to_v1(request: HttpRequest, rest: str) -> HttpResponsePermanentRedirect:
    """308 (method and body kept) from an unversioned path to the same path under v1/."""
    target = request.path[: len(request.path) - len(rest)] + f"{VERSION}/" + rest
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    response = HttpResponsePermanentRedirect(target)
    response.status_code = 308
    return response


v1_patterns = [
    path("", VersionRootView.as_view(), name="rulecast-api-v1"),
    path("token/", TokenView.as_view(), name="rulecast-api-token"),
    path("schema/", SchemaView.as_view(), name="rulecast-api-schema"),
    path("docs/", OfflineSwaggerView.as_view(url_name="rulecast-api-schema"),
         name="rulecast-api-docs"),
    path("", include("crm.api.urls")),
    path("", include("segmentation.api.urls")),
    path("", include("campaigns.api.urls")),
]

urlpatterns = [
    path("", ApiRootView.as_view(), name="rulecast-api-root"),
    path(f"{VERSION}/", include(v1_patterns)),
    re_path(rf"^(?P<rest>(?:{'|'.join(OLD_ROOTS)})(?:/.*)?)$", redirect_to_v1),
]
