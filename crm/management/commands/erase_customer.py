"""``manage.py erase_customer EMAIL_OR_ID [--yes]``: the right to erasure."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.privacy.services import erase_customer, find_customer


class Command(BaseCommand):
    help = ("Erase a customer's personal data everywhere (name, address, deliveries, "
            "tracking); orders and statistics stay as anonymous counts, and the address "
            "is kept only as a hash so that no later import mails it again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer", help="The customer's id, email or external id.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, customer: str, yes: bool, **options) -> None:
        found = find_customer(customer)
        if found is None:
            raise CommandError(f"No customer with the id, email or external id {customer!r}.")
        if not yes and input(f"Erase customer #{found.pk}? This cannot be undone. [y/N] "
                             ).strip().lower() not in {"y", "yes"}:
            raise CommandError("Nothing erased.")
        report = erase_customer(customer=found,
                                actor_name=f"manage.py erase_customer ({getpass.getuser()})")
        if report.already_erased:
            self.stdout.write(f"Customer #{found.pk} was already erased.")
            return
        changed = ", ".join(f"{key} {value}" for key, value in report.counts.items() if value)
        self.stdout.write(f"Erased customer #{found.pk}" + (f" ({changed})." if changed else "."))
