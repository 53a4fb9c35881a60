"""``manage.py apply_retention``: delete what is kept past its retention (as the
periodic ``crm.apply_retention`` task does)."""

from django.core.management.base import BaseCommand

from crm.privacy.services import apply_retention


class Command(BaseCommand):
    help = ("Delete tracking events and delivery details older than "
            "RULECAST_CAMPAIGNS['TRACKING_RETENTION_DAYS'] and expired sign-ups.")

    def handle(self, *args, **options) -> None:
        counts = apply_retention()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))
