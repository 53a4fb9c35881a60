"""Write a generated demo shop into the crm tables."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Customer, Event, Order
from .generate import DemoShop, generate_shop
from .profiles import GROUP_NAMES

#: Rows per INSERT batch (the database may split further, e.g. SQLite's 999 parameters).
BATCH_SIZE = 5000
#: Key in ``Customer.attributes`` naming the hidden behaviour group.
DEMO_GROUP_KEY = "demo_group"


class DemoSeedError(Exception):
    """The demo shop could not be written (nothing was)."""


@dataclass(frozen=True)
class GroupSummary:
    customers: int
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class DemoSummary:
    """What ``seed_demo_shop`` wrote; revenue counts completed orders only."""

    seed: int
    now: datetime
    customers: int
    orders: int
    cancelled_or_refunded: int
    events: int
    revenue: Decimal
    groups: dict[str, GroupSummary] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        local_now = timezone.localtime(self.now)
        out = [
            f"Seeded demo shop (seed {self.seed}, now {local_now:%Y-%m-%d %H:%M %Z}) "
            f"in {self.seconds:.1f} s",
            f"  customers  {self.customers:>12,}",
            f"  orders     {self.orders:>12,}"
            f"  ({self.cancelled_or_refunded:,} cancelled or refunded)",
            f"  events     {self.events:>12,}",
            f"  revenue    {self.revenue:>15,.2f} yuan (completed orders)",
            f"  {'hidden group':<22}{'customers':>10}{'orders':>10}{'revenue':>16}",
        ]
        for name, group in self.groups.items():
            out.append(
                f"  {name:<22}{group.customers:>10,}{group.orders:>10,}{group.revenue:>16,.2f}"
            )
        return out


def default_now() -> datetime:
    """Today at midnight in the current time zone (settings.TIME_ZONE by default)."""
    return timezone.make_aware(datetime.combine(timezone.localdate(), clock.min))


def seed_demo_shop(
    *, customers: int, seed: int, now: datetime | None = None, flush: bool = False
) -> DemoSummary:
    """Create a synthetic shop of ``customers`` customers with orders and events.

    The same ``seed`` and ``now`` always write the same rows. Every time is
    relative to ``now`` (default: :func:`default_now`); a naive ``now`` is read
    in the current time zone. Each customer's hidden behaviour group is stored
    in ``attributes["demo_group"]``. With ``flush``, all customers, orders and
    events are deleted first (saved column mappings are kept). Everything
    happens in one transaction; on a clash with existing rows (e.g. seeding
    twice without ``flush``) :class:`DemoSeedError` is raised and nothing is written.
    """
    if customers < 1:
        raise DemoSeedError("customers must be at least 1")
    if now is None:
        now = default_now()
    elif timezone.is_naive(now):
        now = timezone.make_aware(now)
    now = timezone.localtime(now)
    started = time.perf_counter()
    shop = generate_shop(customers=customers, seed=seed, now=now)
    try:
        with transaction.atomic():
            if flush:
                flush_crm()
            ids = _write_customers(shop)
            _write_orders(shop, ids)
            _write_events(shop, ids)
    except IntegrityError as exc:
        raise DemoSeedError(
            f"Demo rows clash with existing data ({exc}); seed with flush to replace them."
        ) from exc
    return _summarise(shop, seed=seed, seconds=time.perf_counter() - started)


def flush_crm() -> None:
    """Delete every event, order and customer."""
    Event.objects.all().delete()
    Order.objects.all().delete()
    Customer.objects.all().delete()


def _aware(epoch_seconds: np.ndarray) -> list[datetime | None]:
    return [
        datetime.fromtimestamp(s, UTC) if s >= 0 else None for s in epoch_seconds.tolist()
    ]


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), BATCH_SIZE):
        yield frame.iloc[start : start + BATCH_SIZE]


def _write_customers(shop: DemoShop) -> np.ndarray:
    """Insert the customers; return their primary keys by row."""
    ids: list[int] = []
    for chunk in _chunks(shop.customers):
        birth = [date.fromisoformat(str(d)[:10]) for d in chunk["birth_date"].to_numpy()]
        rows = zip(
            chunk["number"].tolist(), chunk["group"].tolist(), chunk["gender"].tolist(),
            chunk["name"].tolist(), chunk["city"].tolist(), chunk["country"].tolist(), birth,
            _aware(chunk["signed_up_at"].to_numpy()), chunk["consent_status"].tolist(),
            chunk["consent_source"].tolist(), _aware(chunk["consent_at"].to_numpy()),
            _aware(chunk["unsubscribed_at"].to_numpy()),
            strict=True,
        )
        objs = [
            Customer(
                external_id=f"demo-{number:06d}", email=f"user{number}@example.com",
                name=name, gender=gender, birth_date=born, city=city, country=country,
                signed_up_at=signed_up, consent_status=status, consent_source=source,
                consent_at=consent_at, unsubscribed_at=unsubscribed,
                attributes={DEMO_GROUP_KEY: group},
            )
            for (number, group, gender, name, city, country, born, signed_up, status, source,
                 consent_at, unsubscribed) in rows
        ]
        Customer.objects.bulk_create(objs, batch_size=BATCH_SIZE)
        ids.extend(obj.pk for obj in objs)
    if None in ids:  # a backend that cannot return ids from a bulk insert
        found = dict(
            Customer.objects.filter(external_id__startswith="demo-")
            .values_list("external_id", "pk")
        )
        ids = [found[f"demo-{n:06d}"] for n in shop.customers["number"].tolist()]
    return np.asarray(ids, dtype=np.int64)


def _write_orders(shop: DemoShop, ids: np.ndarray) -> None:
    for chunk in _chunks(shop.orders):
        rows = zip(
            ids[chunk["customer"].to_numpy()].tolist(), _aware(chunk["placed_at"].to_numpy()),
            chunk["amount_cents"].tolist(), chunk["item_count"].tolist(),
            chunk["category"].tolist(), chunk["channel"].tolist(), chunk["status"].tolist(),
            strict=True,
        )
        Order.objects.bulk_create(
            [
                Order(
                    customer_id=customer_id, placed_at=placed_at,
                    amount=Decimal(cents).scaleb(-2), currency="CNY", item_count=items,
                    category=category, channel=channel, status=status,
                )
                for customer_id, placed_at, cents, items, category, channel, status in rows
            ],
            batch_size=BATCH_SIZE,
        )


_DETAIL_KEY = {"session": "channel", "page_view": "category", "cart_add": "category"}


def _write_events(shop: DemoShop, ids: np.ndarray) -> None:
    for chunk in _chunks(shop.events):
        rows = zip(
            ids[chunk["customer"].to_numpy()].tolist(), chunk["event_type"].tolist(),
            _aware(chunk["occurred_at"].to_numpy()), chunk["detail"].tolist(),
            strict=True,
        )
        Event.objects.bulk_create(
            [
                Event(
                    customer_id=customer_id, event_type=kind, occurred_at=occurred_at,
                    properties={_DETAIL_KEY[kind]: detail},
                )
                for customer_id, kind, occurred_at, detail in rows
            ],
            batch_size=BATCH_SIZE,
        )


def _summarise(shop: DemoShop, *, seed: int, seconds: float) -> DemoSummary:
    orders = shop.orders
    group_of_order = shop.customers["group"].to_numpy()[orders["customer"].to_numpy()]
    completed = (orders["status"] == "completed").to_numpy()
    cents = orders["amount_cents"].to_numpy()
    groups = {}
    for name in GROUP_NAMES:
        mine = group_of_order == name
        groups[name] = GroupSummary(
            customers=int((shop.customers["group"] == name).sum()),
            orders=int(mine.sum()),
            revenue=Decimal(int(cents[mine & completed].sum())).scaleb(-2),
        )
    return DemoSummary(
        seed=seed,
        now=shop.now,
        customers=len(shop.customers),
        orders=len(orders),
        cancelled_or_refunded=int((~completed).sum()),
        events=len(shop.events),
        revenue=Decimal(int(cents[completed].sum())).scaleb(-2),
        groups=groups,
        seconds=seconds,
    )
