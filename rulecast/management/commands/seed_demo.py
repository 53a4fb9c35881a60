"""``manage.py seed_demo``: fill the crm tables with a reproducible synthetic shop."""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from crm.demo import DemoSeedError, seed_demo_shop


def parse_now(value: str) -> datetime:
    """An ISO date (midnight) or date-time; naive values are in the current time zone."""
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.min)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now: not an ISO date or date-time: {value!r}") from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = (
        "Create a synthetic shop (customers, orders, events) drawn from hidden behaviour "
        "groups, recorded in attributes['demo_group']. The same --seed and --now give the "
        "same rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=1000, help="How many (default 1000).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--now", type=parse_now, default=None,
            help="Reference time, ISO date or date-time (default: today at midnight).",
        )
        parser.add_argument(
            "--flush", action="store_true",
            help="Delete all customers, orders and events first.",
        )

    def handle(self, *args, customers: int, seed: int, now: datetime | None, flush: bool,
               **options) -> None:
        if customers < 1:
            raise CommandError("--customers must be at least 1")
        try:
            summary = seed_demo_shop(customers=customers, seed=seed, now=now, flush=flush)
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] > 0:
            self.stdout.write("\n".join(summary.lines()))
