from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("customers", views.CustomerViewSet)
router.register("orders", views.OrderViewSet)
router.register("events", views.EventViewSet)

urlpatterns = [path("", include(router.urls))]
