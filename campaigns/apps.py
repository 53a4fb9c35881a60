from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking

        from segmentation.features import registry
        from segmentation.protection import register_guard

        from . import checks  # noqa: F401  (registers system checks)
        from .features import register_engagement_features
        from .protection import segments_in_use
        from .receivers import on_tracking_event

        register_engagement_features(registry)
        register_guard(segments_in_use)
        tracking.connect(on_tracking_event, dispatch_uid="campaigns.on_tracking_event")
