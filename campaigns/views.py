"""Views for email recipients: thin, each calls one service.

The signed token in the URL is the credential, so these need no login, and the
unsubscribe POST is csrf-exempt (RFC 8058 one-click posts come from mail
providers without cookies or a CSRF token).
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import services
from .selectors import PREVIEW_TOKEN
from .tokens import BadToken

# The smallest transparent GIF: 1x1 pixel.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")


@never_cache
@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """A 1x1 GIF whatever the token; an open is recorded only for a valid one."""
    services.record_open(token=token, user_agent=_agent(request))
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, link_id: int, token: str) -> HttpResponse:
    """Redirect to the link's stored URL (the shop's when its campaign was erased);
    404 (nothing recorded) for a bad link or token."""
    url = services.record_click(link_id=link_id, token=token, user_agent=_agent(request))
    if url is None:
        raise Http404("unknown link")
    return HttpResponseRedirect(url)


@never_cache
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirmation page, nothing changes. POST: unsubscribe at once, answer 200."""
    if token == PREVIEW_TOKEN:
        return render(request, "campaigns/unsubscribe.html", {"preview": True})
    try:
        if request.method == "POST":
            recipient = services.unsubscribe(token=token, user_agent=_agent(request))
            return render(request, "campaigns/unsubscribed.html",
                          {"address": recipient.address})
        recipient = services.recipient_for_token(token)
    except BadToken:
        raise Http404("unknown unsubscribe link") from None
    return render(request, "campaigns/unsubscribe.html", {"address": recipient.address})
