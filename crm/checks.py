"""System checks for the crm app's settings."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import crm_settings


@register()
def check_crm_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    for name in ("IMPORT_BATCH_SIZE", "IMPORT_COLUMN_BATCH_SIZE"):
        batch_size = getattr(crm_settings, name)
        if not isinstance(batch_size, int) or batch_size < 1:
            errors.append(
                Error(f"RULECAST_CRM['{name}'] must be a positive integer.", id="crm.E001")
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
                       ("IMPORT_REBUILD_INDEXES_ROWS", "crm.E024"),
                       ("IMPORT_FIRST_LOAD_ROWS", "crm.E025")):
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


@register()
def check_api_limits(app_configs, **kwargs) -> list[Error]:
    errors = []
    for key in ("JSON_MAX_BYTES", "JSON_MAX_DEPTH"):
        value = getattr(crm_settings, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(Error(f"RULECAST_CRM['{key}'] must be a positive integer.",
                                id="crm.E003"))
    return errors


@register(Tags.security, deploy=True)
def check_client_identity(app_configs, **kwargs) -> list[Warning]:
    """Throttles and login limits must see the real client, not a header it chose."""
    from rest_framework.settings import api_settings

    if api_settings.NUM_PROXIES is None:
        return [Warning(
            "REST_FRAMEWORK['NUM_PROXIES'] is not set: Django REST framework's throttles "
            "trust the whole X-Forwarded-For header, which a client can rotate.",
            hint="Set it to the number of proxies of your own in front of Django (0: none).",
            id="crm.W001",
        )]
    return []


@register(deploy=True)
def check_periodic_tasks(app_configs, **kwargs) -> list[Warning]:
    """The apps' periodic tasks (crm.periodic) need django_celery_beat's scheduler."""
    from django.apps import apps

    from .periodic import declared

    wanted = [p.name for config in apps.get_app_configs() for p in declared(config)]
    if not wanted:
        return []
    scheduler = getattr(settings, "CELERY_BEAT_SCHEDULER", "") or ""
    if not apps.is_installed("django_celery_beat") or "django_celery_beat" not in scheduler:
        return [Warning(
            f"Periodic tasks ({', '.join(wanted)}) are scheduled with django_celery_beat, "
            "which is not installed or not celery beat's scheduler: they will not run.",
            hint="Add 'django_celery_beat' to INSTALLED_APPS and set CELERY_BEAT_SCHEDULER = "
                 "'django_celery_beat.schedulers:DatabaseScheduler'; run `celery beat`.",
            id="crm.W002",
        )]
    return []


@register(Tags.security, deploy=True)
def check_shared_limits(app_configs, **kwargs) -> list[Warning]:
    """In production, throttles and login limits must hold across processes."""
    from django.apps import apps

    warnings = []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith(("LocMemCache", "DummyCache")):
        warnings.append(Warning(
            f"The default cache ({backend.rsplit('.', 1)[-1]}) is per process: API throttles "
            "count each process apart and hold nothing.",
            hint="Use Redis (CACHE_URL / REDIS_URL) or the database cache (createcachetable).",
            id="crm.W003",
        ))
    if not apps.is_installed("axes"):
        warnings.append(Warning(
            "django-axes is not installed: failed admin logins are not limited.",
            hint="Add 'axes' to INSTALLED_APPS, its middleware and authentication backend.",
            id="crm.W004",
        ))
    return warnings
