"""Signals crm sends; apps above it listen (crm never imports them)."""
from django.dispatch import Signal

#: Sent after customers, their orders or events changed; ``customer_ids`` is a set of ids.
customers_changed = Signal()
