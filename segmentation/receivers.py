"""Refresh live memberships when crm says customers changed, once per transaction.

``crm.signals.customers_changed`` is sent for every save (an order, an event, a
customer) and once by each bulk write. The receiver only collects the ids: all the
ids announced inside one transaction (one atomic block: a nested ``atomic()`` is a
savepoint with a batch of its own) go into one pending batch, queued as one
``segmentation.refresh_customers`` task (per REFRESH_CHUNK ids) when it commits. A
batch holding at least ``LIVE_REFRESH_ALL_SHARE`` of the shop's customers (a large
import) is queued as one ``segmentation.refresh_all_live_segments`` instead: the
set-based refresh of everyone, the nightly job, costs less than refreshing so many
one by one (at a million customers it took as long as 65,000 customers one by one).
A rolled-back transaction or savepoint drops its batch with it. Connected in
SegmentationConfig.ready.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, transaction

from .conf import segmentation_settings

# Customers per refresh task: bounds a task's message and its transaction.
REFRESH_CHUNK = 5_000


class PendingRefresh:
    """The customers one transaction changed; called on commit to queue their refresh.

    Once the batch holds more than one task's worth of ids, the shop's customers are
    counted (once): from a share of them on, the batch stands for everyone and keeps
    no ids, so a million-customer import holds a tenth of its ids at most.
    """

    def __init__(self, customer_ids: Iterable[int] = ()) -> None:
        self.customer_ids: set[int] = set()
        self.everyone = False  # the whole shop's refresh: the ids are no longer kept
        self.queued = False
        self._everyone_from: float | None = None  # ids that make "everyone"
        self.add(customer_ids)

    def add(self, customer_ids: Iterable[int]) -> None:
        if self.everyone:
            return
        self.customer_ids.update(customer_ids)
        if len(self.customer_ids) <= REFRESH_CHUNK:
            return
        if self._everyone_from is None:
            from crm.models import Customer

            share = segmentation_settings.LIVE_REFRESH_ALL_SHARE
            self._everyone_from = (float("inf") if share is None
                                   else share * Customer.objects.count())
        if len(self.customer_ids) >= self._everyone_from:
            self.everyone, self.customer_ids = True, set()

    def __call__(self) -> None:
        from .tasks import refresh_all_live_segments, refresh_customers

        # Once queued, later ids need a batch of their own (a test's captured on_commit
        # callbacks run without leaving connection.run_on_commit).
        self.queued = True
        if self.everyone:
            refresh_all_live_segments.delay()
            return
        ids = sorted(self.customer_ids)
        for start in range(0, len(ids), REFRESH_CHUNK):
            refresh_customers.delay(ids[start:start + REFRESH_CHUNK])


def _pending_batch(using: str) -> PendingRefresh:
    """This atomic block's batch, registered with on_commit the first time it is asked for."""
    connection = transaction.get_connection(using)
    block = set(connection.savepoint_ids)  # what Django records with each on_commit
    for savepoints, callback, *_rest in connection.run_on_commit:
        if isinstance(callback, PendingRefresh) and savepoints == block and not callback.queued:
            return callback
    batch = PendingRefresh()
    transaction.on_commit(batch, using=using)
    return batch


def refresh_later(customer_ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Refresh these customers' features and live memberships after the commit."""
    ids = {int(pk) for pk in customer_ids if pk is not None}
    if not ids or not segmentation_settings.LIVE_MEMBERSHIP:
        return
    if not transaction.get_connection(using).in_atomic_block:
        PendingRefresh(ids)()  # autocommit: already committed
        return
    _pending_batch(using).add(ids)


def on_customers_changed(sender, customer_ids: Iterable[int], **kwargs) -> None:
    """``customers_changed`` receiver."""
    refresh_later(customer_ids)
