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
    currency = crm_settings.DEFAULT_CURRENCY
    if not _is_currency(currency):
        errors.append(
            Error(
                "RULECAST_CRM['DEFAULT_CURRENCY'] must be an ISO 4217 currency code "
                f"such as CNY, USD or EUR; got {currency!r}.",
                id="crm.E002",
            )
        )
    return errors


def _is_currency(code) -> bool:
    from babel.numbers import is_currency

    return isinstance(code, str) and code == code.upper() and is_currency(code)
