"""Signed delivery tokens and the absolute URLs that carry them.

A token is ``<delivery id>.<signature>`` (django.core.signing, salted): it is the
only credential of the open, click and unsubscribe URLs, so they need no login.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from .conf import campaigns_settings


class BadToken(Exception):
    """A token that is forged, edited or names no delivery."""


def _signer() -> signing.Signer:
    return signing.Signer(salt=campaigns_settings.TOKEN_SALT, sep=".")


def make_token(delivery_id: int) -> str:
    """The signed token of a delivery."""
    return _signer().sign(str(delivery_id))


def read_token(token: str) -> int:
    """The delivery id in ``token``; BadToken when the signature does not match."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature as error:
        raise BadToken(str(error)) from None
    if not value.isdigit():
        raise BadToken("not a delivery id")
    return int(value)


def absolute_url(path: str) -> str:
    """``path`` under RULECAST_CAMPAIGNS['BASE_URL']."""
    return campaigns_settings.BASE_URL.rstrip("/") + path


def unsubscribe_url(token: str) -> str:
    return absolute_url(reverse("campaigns:unsubscribe", args=[token]))


def open_url(token: str) -> str:
    return absolute_url(reverse("campaigns:open", args=[token]))


def click_url(link_id: int, token: str) -> str:
    return absolute_url(reverse("campaigns:click", args=[link_id, token]))


_TOKEN = "rulecast-token-placeholder"
_LINK = 987_654_321


@dataclass(frozen=True)
class DeliveryUrls:
    """A delivery's token and the URLs that carry it."""

    token: str
    unsubscribe: str
    open: str
    click_pattern: str

    def click(self, link_id: int) -> str:
        return self.click_pattern.replace(str(_LINK), str(link_id), 1)


class UrlMaker:
    """Signs tokens and builds tracking URLs, resolving each route once (per batch)."""

    def __init__(self) -> None:
        self._signer = _signer()
        self._unsubscribe = unsubscribe_url(_TOKEN)
        self._open = open_url(_TOKEN)
        self._click = click_url(_LINK, _TOKEN)

    def for_delivery(self, delivery_id: int) -> DeliveryUrls:
        token = self._signer.sign(str(delivery_id))
        return DeliveryUrls(
            token=token,
            unsubscribe=self._unsubscribe.replace(_TOKEN, token),
            open=self._open.replace(_TOKEN, token),
            click_pattern=self._click.replace(_TOKEN, token),
        )
