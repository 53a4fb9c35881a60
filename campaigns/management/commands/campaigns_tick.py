"""Run what celery beat runs each minute: launch due campaigns, recover stalled sends."""

from django.core.management.base import BaseCommand

from campaigns import services
from campaigns.automation import abtest, triggers


class Command(BaseCommand):
    help = "Launch scheduled campaigns that are due and recover stalled sends (for cron)."

    def handle(self, *args, **options) -> None:
        launched = services.launch_due_campaigns()
        report = services.recover_campaigns()
        triggers.run_triggers()  # automation: triggered emails due, A/B winners due
        abtest.decide_due_tests()
        self.stdout.write(
            f"launched {len(launched)}, released {report.released}, unknown {report.unknown}, "
            f"finished {len(report.finished)}, restarted {len(report.restarted)}"
        )
