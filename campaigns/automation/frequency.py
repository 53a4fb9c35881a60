"""The frequency cap: at most FREQUENCY_CAP messages per customer per calendar day.

It holds across every campaign, one-off or triggered, and every worker: each
claimed message takes a slot in ``SendCount`` (customer, day) with one atomic
``INSERT ... ON CONFLICT DO UPDATE ... WHERE sent < cap``, so two workers
sending two campaigns to the same customer at the same moment cannot both get
the last slot. A message refused a slot is not lost: it goes back to
``pending`` until the start of the next day (TIME_ZONE), when the next batch,
or the watchdog, sends it. Test sends are not counted.

A slot is taken after the claim (consent and suppression checked first, so a
refused message never uses one) and before the SMTP call; a message that then
fails permanently still used its slot, which errs on the side of fewer emails.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from ..conf import campaigns_settings
from ..models import Delivery, DeliveryStatus
from .models import SendCount


def next_day_start(now: datetime) -> datetime:
    """Midnight starting the day after ``now``, in the current time zone."""
    day = timezone.localdate(now) + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time.min))


def take_slots(customer_ids: Sequence[int], *, day: date, cap: int) -> set[int]:
    """Count one message for each customer that still has a slot on ``day``; return them."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return set()
    table = connection.ops.quote_name(SendCount._meta.db_table)
    rows = ", ".join(["(%s, %s, 1)"] * len(ids))
    params: list = []
    for customer_id in ids:
        params += [customer_id, day]
    sql = (
        f"INSERT INTO {table} (customer_id, day, sent) VALUES {rows} "
        f"ON CONFLICT (customer_id, day) DO UPDATE SET sent = {table}.sent + 1 "
        f"WHERE {table}.sent < %s RETURNING customer_id"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*params, cap])
        return {row[0] for row in cursor.fetchall()}


def admit(*, token: uuid.UUID, deliveries: Sequence[Delivery],
          now: datetime | None = None) -> list[Delivery]:
    """Of a batch's claimed deliveries, those within the cap; the others wait for tomorrow.

    A customer twice in ``deliveries`` gets at most one slot here; the other waits too.
    """
    cap = campaigns_settings.FREQUENCY_CAP
    if not cap or not deliveries:
        return list(deliveries)
    now = now or timezone.now()
    first: dict[int, int] = {}
    for delivery in deliveries:
        if delivery.customer_id is not None:
            first.setdefault(delivery.customer_id, delivery.pk)
    granted = take_slots(list(first), day=timezone.localdate(now), cap=cap)
    allowed = [d for d in deliveries if d.customer_id is None
               or (d.customer_id in granted and first[d.customer_id] == d.pk)]
    refused = [d.pk for d in deliveries if d not in allowed]
    if refused:
        until = next_day_start(now)
        Delivery.objects.filter(
            pk__in=refused, claim_token=token, status=DeliveryStatus.SENDING,
        ).update(
            status=DeliveryStatus.PENDING, claim_token=None, attempts=F("attempts") - 1,
            message_id="", next_attempt_at=until,
            last_error=gettext("frequency cap: waits until %(when)s")
            % {"when": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")},
        )
    return allowed


def prune(*, now: datetime | None = None, keep_days: int = 7) -> int:
    """Delete counters older than ``keep_days`` (celery beat, with the automation tick)."""
    today = timezone.localdate(now or timezone.now())
    deleted, _ = SendCount.objects.filter(day__lt=today - timedelta(days=keep_days)).delete()
    return deleted
