"""``manage.py import_sales FILE``: Import customers and their orders from one CSV file."""

from crm.importing.cli import ImportCommand
from crm.models import ImportKind


class Command(ImportCommand):
    help = "Import customers and their orders from one CSV file, one row per order."
    kind = ImportKind.CUSTOMERS_AND_ORDERS
