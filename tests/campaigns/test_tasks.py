"""Tasks are thin, acknowledge late, and the periodic ones are on celery beat's schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services, tasks
from campaigns.models import CampaignStatus
from rulecast.celery import app
from tests.campaigns.conftest import make_campaign, make_customers


@pytest.mark.django_db
def test_periodic_tasks_are_scheduled():
    from django_celery_beat.models import PeriodicTask

    app.loader.import_default_modules()  # every app's tasks module
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"campaigns.launch_due", "campaigns.recover"} <= scheduled
    assert scheduled <= set(app.tasks)


@pytest.mark.parametrize("task", [tasks.send_campaign_batch, tasks.launch_due, tasks.recover])
def test_tasks_survive_a_lost_worker(task):
    assert task.acks_late and task.reject_on_worker_lost


@pytest.mark.django_db
def test_launch_due_task(make_segment):
    campaign = make_campaign([make_segment(make_customers(2))],
                             scheduled_at=timezone.now() - timedelta(seconds=1))
    services.schedule_campaign(campaign=campaign)
    assert tasks.launch_due.delay().get() == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING


@pytest.mark.django_db
def test_the_tick_command_runs_both(make_segment):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("campaigns_tick", stdout=out)
    assert out.getvalue().startswith("launched 0, released 0, unknown 0")
