from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from crm.periodic import Periodic


class SegmentationConfig(AppConfig):
    name = "segmentation"
    verbose_name = _("Segmentation")
    default_auto_field = "django.db.models.BigAutoField"
    # Scheduled in celery beat by migrate (crm.periodic).
    periodic_tasks = [
        # Time-relative features (recency, tenure) drift daily, and bulk writes of a
        # host project may bypass customers_changed: re-sync every live segment nightly.
        Periodic("segmentation-refresh-live-segments", "segmentation.refresh_all_live_segments",
                 crontab="30 3 * * *", description="Nightly re-sync of live segments."),
        # Old runs' members (once no campaign relies on them) and old membership changes.
        Periodic("segmentation-apply-retention", "segmentation.apply_retention",
                 crontab="0 4 * * *",
                 description="Drop old runs' members and old membership changes."),
        # Runs whose worker died (no heartbeat) are requeued once, then failed.
        Periodic("segmentation-recover-runs", "segmentation.recover_runs", every=60,
                 description="Requeue or fail runs whose worker died."),
        # Segmentations with "re-run every N days" (segmentation.scheduling).
        Periodic("segmentation-start-due-reruns", "segmentation.start_due_reruns", every=3600,
                 description="Start the scheduled re-runs that are due."),
    ]

    def ready(self) -> None:
        from crm.signals import customers_changed

        from . import checks  # noqa: F401  (registers system checks)
        from .receivers import on_customers_changed

        customers_changed.connect(on_customers_changed,
                                  dispatch_uid="segmentation.on_customers_changed")
        from .features import registry
        from .features.builtin import register_builtin_features

        if "recency_days" not in registry:
            register_builtin_features(registry)
        from . import querying  # noqa: F401  (registers the "q" export format)
        from .privacy import register_privacy_hooks
        register_privacy_hooks()  # the access export's segments (crm.privacy)
