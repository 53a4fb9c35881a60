"""``manage.py import_customers FILE``: Import customers from a CSV file."""

from crm.importing.cli import ImportCommand
from crm.models import ImportKind


class Command(ImportCommand):
    help = "Import customers from a CSV file (upsert by external id or email)."
    kind = ImportKind.CUSTOMERS
