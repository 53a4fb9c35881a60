"""The email provider's tracking webhook, closed by default.

Only the provider named in ``RULECAST_CAMPAIGNS['WEBHOOK_ESP']`` is served, at
``mail/anymail/<esp>/tracking/`` (django-anymail's own view for it, so its basic-auth
secret and signature checks apply). Every other provider and path under
``mail/anymail/`` is a 404, and nothing is served while no provider is named. The
setting is read per request, so ``override_settings`` works and no URLconf reload is
needed. System checks (campaigns.checks) refuse a provider without its secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import Resolver404, get_resolver
from django.views.decorators.csrf import csrf_exempt

from .conf import campaigns_settings

logger = logging.getLogger(__name__)


def tracking_view(esp: str) -> Callable | None:
    """django-anymail's tracking webhook view of ``esp``, or None when it has none."""
    try:
        match = get_resolver("anymail.urls").resolve(f"/{esp}/tracking/")
    except Resolver404:
        return None
    return match.func if match.url_name == f"{esp}_tracking_webhook" else None


@csrf_exempt
def provider_webhook(request: HttpRequest, esp: str) -> HttpResponse:
    """The configured provider's tracking webhook; 404 for any other."""
    configured = campaigns_settings.WEBHOOK_ESP
    view = tracking_view(esp) if configured and esp == configured else None
    if view is None:
        raise Http404("no such webhook")
    try:
        return view(request)
    except ImproperlyConfigured:
        # Caught at deploy by the system checks; a provider retries a 503 later.
        logger.exception("the %s webhook is not configured", esp)
        return HttpResponse("webhook not configured", status=503, content_type="text/plain")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        # A payload anymail cannot parse: the provider's fault, and retrying won't help.
        logger.warning("the %s webhook got a payload it cannot read", esp, exc_info=True)
        return HttpResponseBadRequest("malformed payload", content_type="text/plain")
