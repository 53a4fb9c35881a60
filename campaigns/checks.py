"""System checks for the campaigns app's settings and the Celery settings it relies on."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

from .conf import DEFAULTS, campaigns_settings

DEFAULT_VISIBILITY_TIMEOUT = 3600  # kombu's Redis transport default (seconds)


def _visibility_timeout() -> float | None:
    """The broker's visibility timeout when the broker is Redis (or SQS), else None."""
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not broker.startswith(("redis", "rediss", "sqs")):
        return None
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return float(options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))


@register()
def check_campaigns_settings(app_configs, **kwargs) -> list:
    messages: list = []
    base_url = campaigns_settings.BASE_URL
    parts = urlsplit(base_url or "")
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        messages.append(Error(
            "RULECAST_CAMPAIGNS['BASE_URL'] must be an absolute http(s) URL.",
            id="campaigns.E002",
        ))
    elif parts.scheme != "https" and not settings.DEBUG:
        messages.append(Warning(
            "RULECAST_CAMPAIGNS['BASE_URL'] is not https: List-Unsubscribe one-click "
            "links must be https in production.",
            hint="Set it to the public https address of this site.", id="campaigns.W001",
        ))
    for key in ("BATCH_SIZE", "CLAIM_SIZE", "PARALLEL_BATCHES", "MAX_ATTEMPTS",
                "SOFT_BOUNCE_THRESHOLD", "LEASE_RENEWAL"):
        value = getattr(campaigns_settings, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            messages.append(Error(f"RULECAST_CAMPAIGNS['{key}'] must be a positive integer.",
                                  id="campaigns.E003"))
    longest = max(float(campaigns_settings.RETRY_BACKOFF_MAX),
                  float(campaigns_settings.RETRY_BACKOFF))
    visibility = _visibility_timeout()
    if visibility is not None and longest >= visibility:
        messages.append(Error(
            f"RULECAST_CAMPAIGNS retry delays (up to {longest:g}s) must be shorter than the "
            f"broker's visibility timeout ({visibility:g}s), or delayed tasks are delivered "
            "twice.",
            hint="Lower RETRY_BACKOFF_MAX or raise "
                 "CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'].",
            id="campaigns.E001",
        ))
    messages += _automation_errors()
    # Between two lease renewals a batch sends one claimed group, each message taking up
    # to EMAIL_TIMEOUT: a live batch must never look dead.
    timeout = float(getattr(settings, "EMAIL_TIMEOUT", None) or 30)
    size = campaigns_settings.CLAIM_SIZE
    size = size if isinstance(size, int) and size > 0 else 1
    renewal = float(campaigns_settings.LEASE_RENEWAL)
    lease = float(campaigns_settings.SENDING_TIMEOUT)
    needed = size * timeout + renewal
    if lease <= needed:
        messages.append(Error(
            f"RULECAST_CAMPAIGNS['SENDING_TIMEOUT'] must exceed {needed:g}s (CLAIM_SIZE x "
            "EMAIL_TIMEOUT + LEASE_RENEWAL): a live send must never look dead.",
            id="campaigns.E004",
        ))
    elif lease > 60:
        messages.append(Warning(
            f"RULECAST_CAMPAIGNS['SENDING_TIMEOUT'] is {lease:g}s: a campaign whose worker "
            "died waits that long before it goes on.",
            hint="Keep it under a minute (lower EMAIL_TIMEOUT or CLAIM_SIZE if needed).",
            id="campaigns.W004",
        ))
    return messages


@register()
def check_webhook(app_configs, **kwargs) -> list:
    """The provider webhook named by WEBHOOK_ESP: known, signed, and with its keys."""
    import warnings

    from anymail.utils import get_anymail_setting
    from django.core.exceptions import ImproperlyConfigured

    from .webhooks import tracking_view

    esp = campaigns_settings.WEBHOOK_ESP
    if not esp:
        return []  # nothing is served under mail/anymail/
    view = tracking_view(str(esp))
    if view is None:
        return [Error(f"RULECAST_CAMPAIGNS['WEBHOOK_ESP'] = {esp!r} is not a django-anymail "
                      "provider with a tracking webhook.",
                      hint="e.g. postmark, amazon_ses, mailgun, sendgrid, brevo.",
                      id="campaigns.E005")]
    messages: list = []
    if not settings.DEBUG and not get_anymail_setting("webhook_secret", default=None):
        messages.append(Error(
            "No ANYMAIL['WEBHOOK_SECRET'] while the provider webhook is served: anyone could "
            "post bounces and complaints and suppress any address.",
            hint="Set ANYMAIL_WEBHOOK_SECRET to a random 'user:password' and put it in the "
                 "webhook URL you give the provider.", id="campaigns.E006"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            view.view_class(**view.view_initkwargs)
    except ImproperlyConfigured as error:
        messages.append(Error(
            f"The {esp} webhook lacks a setting (its signing key) or a package: {error}",
            id="campaigns.E007"))
    return messages


@register()
def check_host_wiring(app_configs, **kwargs) -> list:
    """What a host project must set for the plugin to work outside DEBUG and the demo."""
    messages: list = []
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not broker and not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        messages.append(Warning(
            "No Celery broker is configured (CELERY_BROKER_URL): segmentation runs, imports "
            "and campaign sends are queued but no worker will ever run them.",
            hint="Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0), load it in your "
                 "Celery app (config_from_object('django.conf:settings', namespace='CELERY')) "
                 "and start a worker; or set CELERY_TASK_ALWAYS_EAGER = True to run tasks "
                 "inside the request (small shops, development).",
            id="campaigns.W002",
        ))
    if not settings.DEBUG and campaigns_settings.BASE_URL == DEFAULTS["BASE_URL"]:
        messages.append(Warning(
            f"RULECAST_CAMPAIGNS['BASE_URL'] is still the default {DEFAULTS['BASE_URL']}: "
            "tracking and unsubscribe links in emails would point at the sender's own machine.",
            hint="Set RULECAST_CAMPAIGNS = {'BASE_URL': 'https://your.site'}.",
            id="campaigns.W003",
        ))
    return messages


def _automation_errors() -> list:
    errors = []
    cap = campaigns_settings.FREQUENCY_CAP
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        errors.append(Error("RULECAST_CAMPAIGNS['FREQUENCY_CAP'] must be None or a positive "
                            "integer (messages per customer per day).", id="campaigns.E008"))
    for key in ("TRIGGER_LOOKBACK_DAYS", "AB_MIN_SENDS"):
        value = getattr(campaigns_settings, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(Error(f"RULECAST_CAMPAIGNS['{key}'] must be a positive integer.",
                                id="campaigns.E003"))
    alpha = campaigns_settings.AB_ALPHA
    if not isinstance(alpha, int | float) or not 0 < alpha < 1:
        errors.append(Error("RULECAST_CAMPAIGNS['AB_ALPHA'] must be a number in (0, 1).",
                            id="campaigns.E009"))
    return errors


@register()
def check_retention(app_configs, **kwargs) -> list[Error]:
    days = campaigns_settings.TRACKING_RETENTION_DAYS
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 0):
        return [Error("RULECAST_CAMPAIGNS['TRACKING_RETENTION_DAYS'] must be None (keep "
                      "forever) or a whole number of days, 0 or more.", id="campaigns.E101")]
    return []
