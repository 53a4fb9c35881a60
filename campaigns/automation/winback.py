"""The win-back email in one step: a campaign sent some days after a customer lapses."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext as _

from segmentation.models import Segment

from ..models import Campaign
from .models import Trigger
from .triggers import activate_trigger

# Names a "lapsed" segment tends to have, in English and Chinese (demo and RFM names).
LAPSED_NAMES = re.compile(r"laps|inactive|at risk|lost|hibernat|dormant|churn|沉寂|流失|休眠",
                          re.IGNORECASE)


def lapsed_segment_guess() -> Segment | None:
    """The targetable segment whose name says its customers lapsed, if one does."""
    for segment in Segment.objects.targetable().order_by("-size", "pk"):
        if LAPSED_NAMES.search(f"{segment.name} {segment.name_zh}"):
            return segment
    return None


def winback_bodies(*, message: str, offer_url: str, button: str) -> tuple[str, str]:
    """HTML and text bodies (Django templates: ``{{ name }}`` stays a placeholder)."""
    html = (
        "<html><body><p>" + escape(_("Hi")) + " {{ name }},</p>"
        + linebreaks(escape(message))
        + f'<p><a href="{escape(offer_url)}">{escape(button)}</a></p></body></html>'
    )
    text = f"{_('Hi')} {{{{ name }}}},\n\n{message}\n\n{button}: {offer_url}\n"
    return html, text


@transaction.atomic
def set_up_winback(
    *, segment: Segment, subject: str, message: str, offer_url: str, button: str,
    delay_days: int = 3, reentry_days: int | None = None,
    include_current_members: bool = False, from_email: str = "", name: str = "",
    activate: bool = True,
) -> Campaign:
    """Create the triggered win-back campaign for ``segment`` and (by default) turn it on."""
    html, text = winback_bodies(message=message, offer_url=offer_url, button=button)
    campaign = Campaign.objects.create(
        name=name or _("Win-back: %(segment)s") % {"segment": segment.name},
        subject=subject, html_body=html, text_body=text, from_email=from_email,
    )
    campaign.segments.set([segment])
    Trigger.objects.create(campaign=campaign, delay_days=delay_days, reentry_days=reentry_days,
                           include_current_members=include_current_members)
    if activate:
        activate_trigger(campaign=campaign)
    return campaign
