from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

# SimpleRouter: no browsable root view, which DRF lets anyone read.
router = SimpleRouter()
router.register("segmentations", views.SegmentationViewSet)
router.register("runs", views.SegmentationRunViewSet)
router.register("segments", views.SegmentViewSet)

urlpatterns = [path("", include(router.urls))]
