"""``manage.py export_customer EMAIL_OR_ID [-o FILE]``: the right of access, as JSON."""

from __future__ import annotations

import getpass
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.privacy.services import export_customer, find_customer


class Command(BaseCommand):
    help = ("Write one JSON document with everything held about a customer: profile, "
            "consent history, orders, events, segments and their rules, deliveries, "
            "opens and clicks (standard output unless --output is given).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer", help="The customer's id, email or external id.")
        parser.add_argument("-o", "--output", help="Write to this file.")

    def handle(self, *args, customer: str, output: str | None, **options) -> None:
        found = find_customer(customer)
        if found is None:
            raise CommandError(f"No customer with the id, email or external id {customer!r}.")
        data = export_customer(customer=found,
                               actor_name=f"manage.py export_customer ({getpass.getuser()})")
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as stream:
                stream.write(text)
        else:
            self.stdout.write(text, ending="")
