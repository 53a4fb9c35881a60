from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("segmentations", views.SegmentationViewSet)
router.register("runs", views.SegmentationRunViewSet)
router.register("segments", views.SegmentViewSet)

urlpatterns = [path("", include(router.urls))]
