"""The frequency cap: at most FREQUENCY_CAP messages per customer per calendar day.

It holds across every campaign, one-off or triggered, and every worker. Each
message takes one of its customer's slots for the day (``CapSlot``): an
``INSERT ... ON CONFLICT DO NOTHING`` on (customer, day, slot), so two workers
sending two campaigns to one customer at the same moment cannot both take the
last slot. A slot belongs to the message (unique per delivery and day): a retry
or a message given back unattempted keeps it. A message refused a slot is not
lost: it goes back to ``pending`` until the start of the next day (TIME_ZONE),
when the next batch, the trigger tick or the watchdog sends it. Test sends are
not counted.

A batch takes the slots of all its reserved deliveries in one go, before it
claims them one by one (a statement per message would cost as much as the rest
of sending it); the slots it took for messages that then do not go out at all
(refused at the claim for consent or suppression, or given back unattempted at
the end of the batch) are given back with the batch, so such a message never
keeps one. A message claimed and then failing for good has still used its slot,
erring on the side of fewer emails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from ..conf import campaigns_settings
from ..models import Delivery, DeliveryStatus
from .models import CapSlot


def next_day_start(now: datetime) -> datetime:
    """Midnight starting the day after ``now``, in the current time zone."""
    day = timezone.localdate(now) + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time.min))


def _insert_slots(pairs: list[tuple[int, int]], *, day: date, slot: int) -> set[int]:
    """Try slot number ``slot`` for each (customer, delivery); return the deliveries that got it."""
    table = connection.ops.quote_name(CapSlot._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(pairs))
    params: list = []
    for customer_id, delivery_id in pairs:
        params += [customer_id, day, slot, delivery_id]
    sql = (f"INSERT INTO {table} (customer_id, day, slot, delivery_id) VALUES {values} "
           "ON CONFLICT DO NOTHING RETURNING delivery_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def take_slots(deliveries: Sequence[Delivery], *, day: date,
               cap: int) -> tuple[set[int], set[int]]:
    """Give each delivery a slot of its customer on ``day`` if one is free.

    Returns the deliveries holding a slot, and those of them that got it just now.
    """
    wanted = [d for d in deliveries if d.customer_id is not None]
    with transaction.atomic():
        held = set(CapSlot.objects.filter(
            day=day, delivery_id__in=[d.pk for d in wanted]).values_list("delivery_id", flat=True))
        granted = set(held)
        for slot in range(1, cap + 1):
            pending: dict[int, int] = {}  # one delivery per customer per statement
            for delivery in wanted:
                if delivery.pk not in granted:
                    pending.setdefault(delivery.customer_id, delivery.pk)
            if not pending:
                break
            granted |= _insert_slots(list(pending.items()), day=day, slot=slot)
    return granted, granted - held


@dataclass
class Admitted:
    """A batch's deliveries within the cap, and the slots it took for them on ``day``."""

    deliveries: list[Delivery]
    taken: set[int] = field(default_factory=set)
    day: date | None = None


def admit(*, token: uuid.UUID, deliveries: Sequence[Delivery],
          now: datetime | None = None) -> Admitted:
    """Of a batch's reserved deliveries, those within the cap; the others wait for tomorrow."""
    cap = campaigns_settings.FREQUENCY_CAP
    if not cap or not deliveries:
        return Admitted(list(deliveries))
    now = now or timezone.now()
    day = timezone.localdate(now)
    granted, taken = take_slots(deliveries, day=day, cap=cap)
    allowed = [d for d in deliveries if d.customer_id is None or d.pk in granted]
    refused = [d.pk for d in deliveries if d.customer_id is not None and d.pk not in granted]
    if refused:
        until = next_day_start(now)
        Delivery.objects.filter(
            pk__in=refused, claim_token=token, status=DeliveryStatus.RESERVED,
        ).update(
            status=DeliveryStatus.PENDING, claim_token=None, next_attempt_at=until,
            last_error=gettext("frequency cap: waits until %(when)s")
            % {"when": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")},
        )
    return Admitted(allowed, taken, day)


def give_back(admitted: Admitted, delivery_ids: Iterable[int]) -> int:
    """Free the slots ``admit`` took for these deliveries (their message did not go out)."""
    ids = admitted.taken.intersection(delivery_ids)
    if not ids:
        return 0
    deleted, _ = CapSlot.objects.filter(day=admitted.day, delivery_id__in=ids).delete()
    return deleted


def prune(*, now: datetime | None = None, keep_days: int = 7) -> int:
    """Delete slots older than ``keep_days`` (with the periodic trigger tick)."""
    today = timezone.localdate(now or timezone.now())
    deleted, _ = CapSlot.objects.filter(day__lt=today - timedelta(days=keep_days)).delete()
    return deleted
