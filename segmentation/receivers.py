"""Queue a live-membership refresh when a customer's data changes.

Receivers only enqueue (after commit); the work is in membership.refresh_customers.
Bulk writes (CSV import, seed_demo, the bulk API) send no signals: they call the
task themselves or rely on the nightly refresh. Deleted orders are left to the
nightly refresh too: deleting a customer cascades to every order, and one task
per deleted row would be waste.
"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .conf import segmentation_settings


def queue_refresh(customer_id: int | None) -> None:
    if customer_id is None or not segmentation_settings.LIVE_MEMBERSHIP:
        return
    from .tasks import refresh_customers

    transaction.on_commit(lambda: refresh_customers.delay([customer_id]))


@receiver(post_save, sender="crm.Order", dispatch_uid="segmentation_order_saved")
@receiver(post_save, sender="crm.Event", dispatch_uid="segmentation_event_saved")
def customer_activity_changed(sender, instance, **kwargs) -> None:
    queue_refresh(instance.customer_id)


@receiver(post_save, sender="crm.Customer", dispatch_uid="segmentation_customer_saved")
def customer_changed(sender, instance, created: bool, **kwargs) -> None:
    queue_refresh(instance.pk)
