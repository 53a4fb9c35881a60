from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking

        from segmentation.extensions import register_segment_panel
        from segmentation.features import registry
        from segmentation.protection import register_guard
        from segmentation.signals import membership_changed

        from . import checks  # noqa: F401  (registers system checks)
        from .automation.receivers import on_membership_changed
        from .features import register_engagement_features
        from .protection import segments_in_use
        from .receivers import on_tracking_event

        register_engagement_features(registry)
        register_guard(segments_in_use)
        from .privacy import register_privacy_hooks
        register_privacy_hooks()  # erasure, access export, retention (crm.privacy)
        tracking.connect(on_tracking_event, dispatch_uid="campaigns.on_tracking_event")
        membership_changed.connect(on_membership_changed,
                                   dispatch_uid="campaigns.on_membership_changed")
        from .automation.admin import segment_responses_panel

        register_segment_panel(segment_responses_panel)
