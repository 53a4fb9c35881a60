"""URLs: the admin, the API and its schema, and each app's public pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("crm.api.urls")),
    path("api/", include("segmentation.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("campaigns.urls")),
]
