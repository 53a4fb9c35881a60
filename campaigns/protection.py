"""The campaigns app's guard for segmentation.protection: segments campaigns rely on."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .models import Campaign, CampaignStatus

UNFINISHED = [CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING,
              CampaignStatus.PAUSED]


def segments_in_use(segment_ids: list[int]) -> dict[int, str]:
    """The segments an unfinished campaign targets or excludes, each with the campaign."""
    found: dict[int, str] = {}
    for field in ("segments", "excluded_segments"):
        rows = (Campaign.objects.filter(status__in=UNFINISHED, **{f"{field}__in": segment_ids})
                .values_list(f"{field}__pk", "name", "status").order_by("pk"))
        for segment_id, name, status in rows:
            found.setdefault(segment_id, _("the %(status)s campaign “%(name)s” targets it.")
                             % {"status": CampaignStatus(status).label.lower(), "name": name})
    return found
