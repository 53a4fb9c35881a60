from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _

from .periodic import Periodic


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers")
    default_auto_field = "django.db.models.BigAutoField"
    # Scheduled in celery beat by migrate (crm.periodic).
    periodic_tasks = [
        Periodic("crm-apply-retention", "crm.apply_retention", crontab="30 3 * * *",
                 description="Delete tracking data kept past its retention."),
    ]

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from .adminactions import require_action_permissions
        from .periodic import on_post_migrate
        from .receivers import activity_changed, customer_saved

        post_save.connect(customer_saved, sender="crm.Customer", dispatch_uid="crm.customer_saved")
        for model in ("crm.Order", "crm.Event"):
            for signal, verb in ((post_save, "saved"), (post_delete, "deleted")):
                signal.connect(activity_changed, sender=model,
                               dispatch_uid=f"crm.{model}.{verb}")

        # Every app's declared periodic tasks (see crm.periodic) are scheduled by migrate.
        post_migrate.connect(on_post_migrate, dispatch_uid="rulecast.periodic")
        require_action_permissions()
        from .importing.privacy import register_privacy_hooks

        register_privacy_hooks()  # uploads and import reports (crm.privacy)
        # The database cache's table (when CACHES uses one) is created by migrate too.
        post_migrate.connect(create_cache_tables, sender=self,
                             dispatch_uid="rulecast.createcachetable")


def create_cache_tables(sender, using: str = "default", **kwargs) -> None:
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
