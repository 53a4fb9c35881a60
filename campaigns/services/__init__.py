"""The campaigns app's writes (HackSoft-style services): keyword-only, typed.

Admin actions, views, tasks and the anymail receiver call these and nothing else.
"""

from .archive import (
    archive_campaign,
    delete_campaign,
    deletion_refusal,
    has_sent,
    unarchive_campaign,
)
from .dispatch import finish_if_done
from .lifecycle import (
    CampaignError,
    RecoveryReport,
    cancel_campaign,
    launch_campaign,
    launch_due_campaigns,
    pause_campaign,
    recipients_queryset,
    recover_campaigns,
    resend_unknown,
    resume_campaign,
    schedule_campaign,
    watch_campaign,
)
from .provider_events import ProviderReport, record_provider_event
from .sending import BatchResult, send_batch
from .testsend import send_test
from .tracking import (
    Recipient,
    recipient_for_token,
    record_click,
    record_open,
    suppress,
    unsubscribe,
)

__all__ = [
    "archive_campaign", "delete_campaign", "deletion_refusal", "has_sent",
    "unarchive_campaign",
    "BatchResult", "CampaignError", "ProviderReport", "RecoveryReport", "cancel_campaign",
    "Recipient", "recipient_for_token", "finish_if_done", "launch_campaign", "launch_due_campaigns",
    "pause_campaign", "recipients_queryset", "record_click", "record_open",
    "record_provider_event", "recover_campaigns", "resend_unknown", "resume_campaign",
    "schedule_campaign", "send_batch", "send_test", "suppress", "unsubscribe",
    "watch_campaign",
]
