"""The crm API: /api/customers/, /api/orders/, /api/events/ (and their bulk/ actions)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from ..privacy.api import SignupConfirmView, SignupView
from . import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet)
router.register("orders", views.OrderViewSet)
router.register("events", views.EventViewSet)

urlpatterns = [
    path("", include(router.urls)),
    path("signup/", SignupView.as_view(), name="signup"),
    path("signup/confirm/", SignupConfirmView.as_view(), name="signup-confirm"),
]
