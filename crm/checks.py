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


@register()
def check_import_settings(app_configs, **kwargs) -> list[Error]:
    """The import's settings: rates, encodings and row thresholds."""
    import codecs
    import re
    from decimal import Decimal, InvalidOperation

    errors = []
    rates = crm_settings.CURRENCY_RATES
    valid_rates = isinstance(rates, dict)
    if valid_rates:
        for code, rate in rates.items():
            try:
                positive = Decimal(str(rate)) > 0
            except InvalidOperation:
                positive = False
            if not (isinstance(code, str) and re.fullmatch(r"[A-Z]{3}", code) and positive):
                valid_rates = False
    if not valid_rates:
        errors.append(Error(
            "RULECAST_CRM['CURRENCY_RATES'] must map ISO 4217 codes to positive numbers, "
            'e.g. {"EUR": "1.08"}.', id="crm.E021"))
    encodings = crm_settings.IMPORT_ENCODINGS
    try:
        known = bool(encodings) and all(codecs.lookup(name) for name in encodings)
    except (LookupError, TypeError):
        known = False
    if not known:
        errors.append(Error("RULECAST_CRM['IMPORT_ENCODINGS'] must list known encodings.",
                            id="crm.E022"))
    for name, code in (("IMPORT_INLINE_MAX_ROWS", "crm.E023"),
                       ("IMPORT_REBUILD_INDEXES_ROWS", "crm.E024")):
        value = getattr(crm_settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors.append(Error(f"RULECAST_CRM['{name}'] must be a whole number, 0 or more.",
                                id=code))
    return errors


@register()
def check_privacy_settings(app_configs, **kwargs) -> list[Error]:
    max_age = crm_settings.SIGNUP_CONFIRM_MAX_AGE
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 60:
        return [Error("RULECAST_CRM['SIGNUP_CONFIRM_MAX_AGE'] must be a whole number of "
                      "seconds, at least 60.", id="crm.E101")]
    return []


def _is_currency(code) -> bool:
    from babel.numbers import is_currency

    return isinstance(code, str) and code == code.upper() and is_currency(code)
