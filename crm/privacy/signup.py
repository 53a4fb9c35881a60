"""Double opt-in sign-up: a confirmation email with a signed, expiring, single-use link.

:func:`request_signup` stores a pending sign-up and mails a link holding its id signed
with a :class:`~django.core.signing.TimestampSigner`. :func:`confirm_signup` grants
consent only for a link that is intact, younger than SIGNUP_CONFIRM_MAX_AGE and not
used before (the pending sign-up is deleted when confirmed); anything else raises
:class:`SignupError` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import crm_settings
from ..models import ConsentStatus, Customer, normalize_email
from .consent import set_consent
from .models import ConsentSource, PendingSignup


class SignupError(Exception):
    """A confirmation link that is edited, expired, used or unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid", "expired" or "used"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=crm_settings.SIGNUP_TOKEN_SALT)


def signup_token(pending: PendingSignup) -> str:
    return _signer().sign(str(pending.pk))


def request_signup(*, email: str, name: str = "",
                   confirm_url: Callable[[str], str]) -> PendingSignup:
    """Store a pending sign-up and mail its confirmation link (``confirm_url(token)``)."""
    pending = PendingSignup.objects.create(email=normalize_email(email), name=name.strip()[:200])
    url = confirm_url(signup_token(pending))
    context = {"url": url, "name": pending.name,
               "hours": crm_settings.SIGNUP_CONFIRM_MAX_AGE // 3600}
    message = EmailMultiAlternatives(
        subject=_("Please confirm your subscription"),
        body=render_to_string("crm/signup/confirm_email.txt", context),
        from_email=crm_settings.SIGNUP_FROM_EMAIL, to=[pending.email],
    )
    message.attach_alternative(render_to_string("crm/signup/confirm_email.html", context),
                               "text/html")
    try:
        message.send()
    except Exception:
        pending.delete()
        raise
    return pending


def confirm_signup(*, token: str) -> Customer:
    """Grant consent for the sign-up the link names; SignupError when it cannot."""
    try:
        pending_id = _signer().unsign(token, max_age=crm_settings.SIGNUP_CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        raise SignupError("expired") from None
    except signing.BadSignature:
        raise SignupError("invalid") from None
    with transaction.atomic():
        pending = PendingSignup.objects.select_for_update().filter(pk=pending_id).first()
        if pending is None:
            raise SignupError("used")
        now = timezone.now()
        customer, created = Customer.objects.get_or_create(
            email=pending.email, defaults={"name": pending.name, "signed_up_at": now},
        )
        if not created and (not customer.name or not customer.signed_up_at):
            customer.name = customer.name or pending.name
            customer.signed_up_at = customer.signed_up_at or now
            customer.save(update_fields=["name", "signed_up_at", "updated_at"])
        # New consent also ends an earlier unsubscribe.
        Customer.objects.filter(pk=customer.pk).update(unsubscribed_at=None)
        customer.unsubscribed_at = None
        set_consent(customer=customer, status=ConsentStatus.GRANTED,
                    source=ConsentSource.SIGNUP_FORM, at=now, note="double opt-in confirmed")
        pending.delete()
    return customer
