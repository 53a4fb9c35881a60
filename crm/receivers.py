"""Announce saved or deleted customers, orders and events as ``customers_changed``.

Connected in CrmConfig.ready. Writes that bypass model signals (the bulk API, CSV
imports) send ``customers_changed`` themselves, once per request or file.
"""

from __future__ import annotations

from .signals import customers_changed


def customer_saved(sender, instance, **kwargs) -> None:
    customers_changed.send(sender=sender, customer_ids={instance.pk})


def activity_changed(sender, instance, **kwargs) -> None:
    """An order or event was saved or deleted: its customer's features changed."""
    if instance.customer_id is not None:
        customers_changed.send(sender=sender, customer_ids={instance.customer_id})
