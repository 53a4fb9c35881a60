"""Signed delivery tokens and the absolute URLs that carry them.

A token is ``<delivery id>.<campaign id>.<customer id>.<signature>``
(django.core.signing, salted): it is the only credential of the open, click and
unsubscribe URLs, so they need no login. Carrying the campaign and the customer
lets an unsubscribe link work even after its delivery row is gone (erasure), for as
long as the signing key lives. Tokens of older emails hold only the delivery id
(``<delivery id>.<signature>``) and are still read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from .conf import campaigns_settings


class BadToken(Exception):
    """A token that is forged, edited or names no delivery."""


@dataclass(frozen=True)
class TokenData:
    """What a signed token names; campaign and customer are None in older tokens."""

    delivery_id: int
    campaign_id: int | None = None
    customer_id: int | None = None


def _signer() -> signing.Signer:
    return signing.Signer(salt=campaigns_settings.TOKEN_SALT, sep=".")


def _value(delivery_id: int, campaign_id: int | None, customer_id: int | None) -> str:
    if campaign_id is None:
        return str(delivery_id)  # the older form
    return f"{delivery_id}.{campaign_id}.{customer_id or 0}"


def make_token(delivery_id: int, campaign_id: int | None = None,
               customer_id: int | None = None) -> str:
    """The signed token of a delivery (of ``campaign_id``, to ``customer_id``).

    Without ``campaign_id`` it is the older form holding only the delivery id.
    """
    return _signer().sign(_value(delivery_id, campaign_id, customer_id))


def read_token(token: str) -> TokenData:
    """What ``token`` names; BadToken when the signature does not match."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature as error:
        raise BadToken(str(error)) from None
    parts = value.split(".")
    if len(parts) not in (1, 3) or not all(p.isascii() and p.isdigit() for p in parts):
        raise BadToken("not a delivery token")
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        return TokenData(delivery_id=numbers[0])
    return TokenData(delivery_id=numbers[0], campaign_id=numbers[1],
                     customer_id=numbers[2] or None)


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

    def for_delivery(self, delivery_id: int, *, campaign_id: int,
                     customer_id: int | None) -> DeliveryUrls:
        token = self._signer.sign(_value(delivery_id, campaign_id, customer_id))
        return DeliveryUrls(
            token=token,
            unsubscribe=self._unsubscribe.replace(_TOKEN, token),
            open=self._open.replace(_TOKEN, token),
            click_pattern=self._click.replace(_TOKEN, token),
        )
