"""Privacy hooks of CSV imports: uploads and their reports may hold a person's address.

Registered with crm.privacy from CrmConfig.ready: erasure blanks the stored bytes of
any upload that holds the address and redacts it from import reports; retention
deletes uploads that were never imported.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from ..models import ImportJob, ImportStatus

#: An upload that nobody imported is deleted after this long (it holds the whole file).
ABANDONED_UPLOAD_AGE = timedelta(days=7)
REDACTED = "[erased]"


def erase(*, customer, email: str | None) -> dict[str, int]:
    """Blank uploads holding ``email`` and redact it from every import report."""
    if not email:
        return {}
    needle = email.lower().encode()
    blanked = redacted = 0
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    for job in ImportJob.objects.only("pk", "data", "report").iterator():
        changed = []
        if job.data and needle in bytes(job.data).lower():
            job.data, blanked = b"", blanked + 1
            changed.append("data")
        if job.report and pattern.search(json.dumps(job.report, ensure_ascii=False)):
            text = pattern.sub(REDACTED, json.dumps(job.report, ensure_ascii=False))
            job.report, redacted = json.loads(text), redacted + 1
            changed.append("report")
        if changed:
            job.save(update_fields=changed)
    return {"uploads_blanked": blanked, "reports_redacted": redacted}


def purge(now: datetime) -> dict[str, int]:
    """Delete uploads never imported (still only uploaded) older than ABANDONED_UPLOAD_AGE."""
    deleted, _ = ImportJob.objects.filter(
        status=ImportStatus.UPLOADED, created_at__lt=now - ABANDONED_UPLOAD_AGE).delete()
    return {"abandoned_uploads": deleted}


def register_privacy_hooks() -> None:
    from ..privacy.registry import register

    register("imports", erase=erase, purge=purge)
