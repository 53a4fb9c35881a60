"""The campaign change page's buttons and live statistics.

URLs (added to ``CampaignAdmin.get_urls`` by :func:`campaign_urls`)::

    <id>/send-test/   GET: a confirmation page; POST: services.send_test (change permission)
    <id>/launch/      GET: a confirmation page; POST: launch, or schedule when the time is ahead
    <id>/stats/       the statistics block as JSON (its HTML and the counts), polled while sending

The views check permissions, call one service and redirect back to the change page.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext

from . import services
from .models import Campaign, CampaignStatus
from .selectors import campaign_stats, segment_stats

#: Statuses during which the statistics block refreshes itself.
LIVE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED)
POLL_EVERY_MS = 3000


def stats_context(campaign: Campaign) -> dict[str, Any]:
    """Counts, rates and chart data of a launched campaign, ready for stats.html."""
    total = campaign_stats(campaign)
    rows = [total, *segment_stats(campaign)]
    percent = [
        (gettext("opened"), "open_rate"), (gettext("clicked"), "click_rate"),
        (gettext("unsubscribed"), "unsubscribe_rate"), (gettext("bounced"), "bounce_rate"),
        (gettext("failed"), "failed_rate"),
    ]
    chart = {
        "title": gettext("Rates per segment (share of messages sent)"),
        # xgettext:no-python-format
        "axis": gettext("% of sent messages"),
        "labels": [str(row.label) for row in rows],
        "series": [{"label": label, "values": [round(getattr(row, rate) * 100, 1)
                                                for row in rows]}
                   for label, rate in percent],
    }
    handled = total.sent + total.failed + total.unknown + total.skipped
    return {
        "rows": rows,
        "chart": chart,
        "chart_height": 120 + 60 * len(rows),
        "progress": {"done": handled, "total": total.recipients, "waiting": total.waiting,
                     "sent": total.sent, "failed": total.failed, "unknown": total.unknown,
                     "skipped": total.skipped},
        "live": campaign.status in LIVE,
        "status": campaign.status,
        "status_label": str(campaign.get_status_display()),
        "poll_url": reverse("admin:campaigns_campaign_stats", args=[campaign.pk]),
        "poll_every": POLL_EVERY_MS,
    }


def render_stats(campaign: Campaign) -> str:
    return render_to_string("admin/campaigns/campaign/stats.html", stats_context(campaign))


def campaign_urls(model_admin) -> list[URLPattern]:
    wrap = model_admin.admin_site.admin_view
    return [
        path("<int:pk>/send-test/", wrap(partial(confirm_and_run, model_admin, "send_test")),
             name="campaigns_campaign_send_test"),
        path("<int:pk>/launch/", wrap(partial(confirm_and_run, model_admin, "launch")),
             name="campaigns_campaign_launch"),
        path("<int:pk>/stats/", wrap(partial(stats, model_admin)),
             name="campaigns_campaign_stats"),
    ]


def launch_or_schedule(*, campaign: Campaign) -> str:
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        services.schedule_campaign(campaign=campaign)
        return gettext("Scheduled for %(at)s: celery beat launches it then.") % {
            "at": timezone.localtime(campaign.scheduled_at).strftime("%Y-%m-%d %H:%M")}
    count = services.launch_campaign(campaign=campaign)
    return gettext("Launched to %(count)s recipients.") % {"count": f"{count:,}"}


def send_test(*, campaign: Campaign) -> str:
    services.send_test(campaign=campaign)
    return gettext("A test was sent to %(address)s.") % {"address": campaign.test_address}


ACTIONS = {
    "launch": {
        "run": launch_or_schedule,
        "title": lambda c: gettext("Launch “%(name)s”?") % {"name": c.name},
        "question": lambda c: gettext(
            "Its recipients are fixed now (members of the target segments with consent, not "
            "unsubscribed or suppressed) and sending starts; it cannot be undone, only paused "
            "or cancelled.") if not (c.scheduled_at and c.scheduled_at > timezone.now())
        else gettext("It will launch by itself at its scheduled time."),
        "button": lambda c: gettext("Yes, launch it"),
    },
    "send_test": {
        "run": send_test,
        "title": lambda c: gettext("Send a test of “%(name)s”?") % {"name": c.name},
        "question": lambda c: gettext(
            "One message, rendered for a sample member, goes to %(address)s.")
        % {"address": c.test_address or "—"},
        "button": lambda c: gettext("Yes, send the test"),
    },
}


def confirm_and_run(model_admin, action: str, request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if not model_admin.has_change_permission(request, campaign):
        raise PermissionDenied
    change_url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    spec = ACTIONS[action]
    if request.method == "POST":
        try:
            done = spec["run"](campaign=campaign)
        except services.CampaignError as error:
            model_admin.message_user(request, str(error), messages.ERROR)
        else:
            model_admin.log_change(request, campaign, done)
            model_admin.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(change_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Campaign._meta, "original": campaign, "action": action,
        "title": spec["title"](campaign), "question": spec["question"](campaign),
        "button": spec["button"](campaign), "change_url": change_url,
    }
    return TemplateResponse(request, "admin/campaigns/campaign/confirm.html", context)


def stats(model_admin, request: HttpRequest, pk: int) -> JsonResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if not model_admin.has_view_permission(request, campaign):
        raise PermissionDenied
    context = stats_context(campaign)
    return JsonResponse({
        "live": context["live"], "status": campaign.status,
        "status_label": context["status_label"], **context["progress"],
        "html": render_to_string("admin/campaigns/campaign/stats.html", context),
    })
