"""Archiving campaigns: a campaign that has sent anything is never deleted.

Its deliveries, links and events are what its emails' click, open and unsubscribe
links rely on (bulk-sender rules expect unsubscribe links to work for at least 30
days), and its statistics stay worth reading. Archived campaigns are hidden from
lists and kept whole; only a campaign that never sent anything can be deleted.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Campaign, CampaignStatus, Delivery
from .lifecycle import CampaignError

ACTIVE = {CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED}
FINISHED = {CampaignStatus.SENT, CampaignStatus.CANCELLED}


def has_sent(campaign: Campaign) -> bool:
    """Whether the campaign was ever launched (so emails may carry its links)."""
    return campaign.launched_at is not None or Delivery.objects.filter(
        campaign_id=campaign.pk).exists()


def deletion_refusal(campaign: Campaign) -> str | None:
    """Why ``campaign`` cannot be deleted, or None when it can."""
    if campaign.status in ACTIVE:
        return _("Cancel a scheduled, sending or paused campaign before removing it.")
    if has_sent(campaign):
        return _("This campaign has sent emails, whose links and unsubscribe must keep "
                 "working: archive it instead.")
    return None


def delete_campaign(*, campaign: Campaign) -> None:
    """Delete a campaign that never sent anything; CampaignError (with why) otherwise."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        refusal = deletion_refusal(locked)
        if refusal:
            raise CampaignError(refusal)
        locked.delete()


def archive_campaign(*, campaign: Campaign) -> Campaign:
    """Hide a sent or cancelled campaign from lists; everything it sent keeps working."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in FINISHED:
            raise CampaignError(_("Only a sent or cancelled campaign can be archived."))
        if locked.archived_at is None:
            locked.archived_at = timezone.now()
            locked.save(update_fields=["archived_at", "updated_at"])
    return locked


def unarchive_campaign(*, campaign: Campaign) -> Campaign:
    """Show an archived campaign in lists again."""
    Campaign.objects.filter(pk=campaign.pk).update(archived_at=None, updated_at=timezone.now())
    campaign.refresh_from_db()
    return campaign
