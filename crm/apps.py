from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from .periodic import on_post_migrate, restrict_beat_admin
        from .receivers import activity_changed, customer_saved

        post_save.connect(customer_saved, sender="crm.Customer", dispatch_uid="crm.customer_saved")
        for model in ("crm.Order", "crm.Event"):
            for signal, verb in ((post_save, "saved"), (post_delete, "deleted")):
                signal.connect(activity_changed, sender=model,
                               dispatch_uid=f"crm.{model}.{verb}")

        # Every app's declared periodic tasks (see crm.periodic) are scheduled by migrate.
        post_migrate.connect(on_post_migrate, dispatch_uid="rulecast.periodic")
        restrict_beat_admin()
