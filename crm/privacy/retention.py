"""Retention: remove what is kept past its time (one service, for the task and command).

crm removes unconfirmed sign-ups older than SIGNUP_CONFIRM_MAX_AGE; other apps purge
through their registered hooks (campaigns: tracking events and delivery details older
than RULECAST_CAMPAIGNS["TRACKING_RETENTION_DAYS"]).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ..conf import crm_settings
from .models import PendingSignup
from .registry import registered


def apply_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention; return counts per kind of record."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=crm_settings.SIGNUP_CONFIRM_MAX_AGE)
    counts = {"pending_signups": PendingSignup.objects.filter(created_at__lt=cutoff).delete()[0]}
    for hooks in registered():
        if hooks.purge is not None:
            for key, value in (hooks.purge(now) or {}).items():
                counts[f"{hooks.name}.{key}"] = value
    return counts
