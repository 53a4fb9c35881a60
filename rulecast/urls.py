"""URLs: the admin, the API and its schema, and each app's public pages.

Everything under ``api/`` needs a user (a token or a session) except ``api/token/``,
where one gets a token; the recipients' pages (tracking, unsubscribe) are public.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

from crm.api.token import TokenView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
         name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(
        url_name="schema", permission_classes=[IsAuthenticated]), name="api-docs"),
    path("api/", include("crm.api.urls")),
    path("api/", include("segmentation.api.urls")),
    path("api/", include("campaigns.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("campaigns.urls")),
    path("", include("crm.urls")),  # the public double opt-in sign-up pages
]
