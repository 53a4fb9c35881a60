"""``manage.py export_customers [-o FILE] [--bom]``: customers to CSV."""

from crm import exporting
from crm.management.commands.export_orders import ExportCommand


class Command(ExportCommand):
    help = "Export customers to CSV (standard output unless --output is given)."
    rows = staticmethod(exporting.customer_rows)
