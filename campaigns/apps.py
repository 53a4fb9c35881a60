from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking

        from segmentation.features import registry

        from . import checks  # noqa: F401  (registers system checks)
        from .features import register_engagement_features
        from .receivers import on_tracking_event

        register_engagement_features(registry)
        from .privacy import register_privacy_hooks
        register_privacy_hooks()  # erasure, access export, retention (crm.privacy)
        tracking.connect(on_tracking_event, dispatch_uid="campaigns.on_tracking_event")
