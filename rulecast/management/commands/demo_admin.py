"""Create (or reset) the demo superuser and print how to log in."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "rulecast-demo"


class Command(BaseCommand):
    help = "Create the demo superuser 'admin' (a development convenience; never in production)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_admin only runs with DEBUG=1: its password is public.")
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        self.stdout.write(f"Admin user: {DEMO_USERNAME}  password: {DEMO_PASSWORD}")
