"""System checks for the campaigns app's settings and the Celery settings it relies on."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

from .conf import campaigns_settings

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
            id="campaigns.W002",
        ))
    return messages


@register(deploy=True)
def check_broker(app_configs, **kwargs) -> list:
    """Sending needs workers: without a broker it runs inside web requests."""
    if getattr(settings, "CELERY_BROKER_URL", ""):
        return []
    return [Warning(
        "CELERY_BROKER_URL is not set: campaigns are sent inside the web request that "
        "launches them, and retries, schedules and watchdogs never run.",
        hint="Set CELERY_BROKER_URL (e.g. redis://...) and run `celery worker` and `celery beat`.",
        id="campaigns.W003",
    )]
