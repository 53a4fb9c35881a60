from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentationConfig(AppConfig):
    name = "segmentation"
    verbose_name = _("Segmentation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (registers checks and receivers)
        from .features import registry
        from .features.builtin import register_builtin_features

        if "recency_days" not in registry:
            register_builtin_features(registry)
        from . import querying  # noqa: F401  (registers the "q" export format)
        from .privacy import register_privacy_hooks
        register_privacy_hooks()  # the access export's segments (crm.privacy)
