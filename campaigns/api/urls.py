"""The campaigns API: /api/campaigns/ and its actions."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("campaigns", views.CampaignViewSet)

urlpatterns = [path("", include(router.urls))]
