"""System checks for the crm app's settings."""

from django.core.checks import Error, register

from .conf import crm_settings


@register()
def check_crm_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    batch_size = crm_settings.IMPORT_BATCH_SIZE
    if not isinstance(batch_size, int) or batch_size < 1:
        errors.append(
            Error(
                "RULECAST_CRM['IMPORT_BATCH_SIZE'] must be a positive integer.",
                id="crm.E001",
            )
        )
    return errors
