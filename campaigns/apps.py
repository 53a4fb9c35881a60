from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from crm.periodic import Periodic


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")
    default_auto_field = "django.db.models.BigAutoField"
    # Scheduled in celery beat by migrate (crm.periodic).
    periodic_tasks = [
        Periodic("campaigns-launch-due", "campaigns.launch_due", every=60,
                 description="Launch scheduled campaigns whose time has come."),
        # A backstop: each campaign also has its own watchdog task (no beat needed).
        Periodic("campaigns-recover", "campaigns.recover", every=60,
                 description="Record sends of dead workers as unknown; restart stalls."),
    ]

    def ready(self) -> None:
        from anymail.signals import tracking

        from segmentation.features import registry

        from . import checks  # noqa: F401  (registers system checks)
        from .features import register_engagement_features
        from .receivers import on_tracking_event

        register_engagement_features(registry)
        tracking.connect(on_tracking_event, dispatch_uid="campaigns.on_tracking_event")
