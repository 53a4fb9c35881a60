"""Send one rendered message of a campaign to a test address, before launch."""

from __future__ import annotations

from django.core.mail import get_connection
from django.utils.translation import gettext as _

from .. import rendering
from ..conf import campaigns_settings
from ..models import Campaign
from ..selectors import preview_campaign
from .lifecycle import CampaignError


def send_test(*, campaign: Campaign, address: str | None = None) -> str:
    """Render the campaign for a sample member and send it to ``address``; return its Message-ID.

    Links are not tracked and the unsubscribe link is the inert preview link.
    """
    address = (address or campaign.test_address or "").strip()
    if not address:
        raise CampaignError(_("Set a test address first."))
    preview = preview_campaign(campaign)
    rendered = rendering.Rendered(
        subject=campaigns_settings.TEST_SUBJECT_PREFIX + preview.rendered.subject,
        text=preview.rendered.text, html=preview.rendered.html,
    )
    message_id = rendering.new_message_id(preview.compiled, 0)
    with get_connection(fail_silently=False) as connection:
        rendering.build_message(
            preview.compiled, rendered, address=address, message_id=message_id,
            unsubscribe_url=preview.unsubscribe_url, connection=connection,
        ).send()
    return message_id
