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
        # Automation: triggered emails that are due (and entries a lost task missed).
        Periodic("campaigns-run-triggers", "campaigns.run_triggers", every=60,
                 description="Send triggered emails that are due."),
        Periodic("campaigns-decide-ab-tests", "campaigns.decide_ab_tests", every=60,
                 description="Name the winners of A/B tests whose wait is over."),
    ]

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
