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


@register()
def check_privacy_settings(app_configs, **kwargs) -> list[Error]:
    max_age = crm_settings.SIGNUP_CONFIRM_MAX_AGE
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 60:
        return [Error("RULECAST_CRM['SIGNUP_CONFIRM_MAX_AGE'] must be a whole number of "
                      "seconds, at least 60.", id="crm.E101")]
    return []
