"""URLs: the admin, the API (versioned, with its token, schema and docs), the recipients' pages.

Everything under ``api/`` needs a user (a token or a session) except ``api/v1/token/``,
where one gets a token; the recipients' pages (tracking, unsubscribe, the provider's
webhook) are public. A host project includes exactly the same two modules.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("campaigns.api.root")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("campaigns.urls")),
    path("", include("crm.urls")),  # the public double opt-in sign-up pages
]
