"""``manage.py import_orders FILE``: Import orders from a CSV file."""

from crm.importing.cli import ImportCommand
from crm.models import ImportKind


class Command(ImportCommand):
    help = (
        "Import orders from a CSV file; customers are found by customer_external_id "
        "or customer_email."
    )
    kind = ImportKind.ORDERS
