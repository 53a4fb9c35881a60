"""Periodic tasks the apps declare are scheduled in celery beat by migrate (crm.periodic)."""

import pytest
from django.apps import apps
from django.core.management.sql import emit_post_migrate_signal
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from crm.periodic import Periodic, declared, schedule_declared
from rulecast.celery import app

pytestmark = pytest.mark.django_db


def test_migrate_schedules_every_declared_task_once():
    PeriodicTask.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    wanted = {p.name: p for config in apps.get_app_configs() for p in declared(config)}
    stored = {task.name: task for task in PeriodicTask.objects.all()}
    assert set(wanted) <= set(stored)
    assert len(stored) == len(PeriodicTask.objects.values("name").distinct())
    nightly = stored["segmentation-refresh-live-segments"]
    assert nightly.task == "segmentation.refresh_all_live_segments"
    assert (nightly.crontab.minute, nightly.crontab.hour) == ("30", "3")
    assert stored["campaigns-recover"].interval.every == 60
    app.loader.import_default_modules()  # every app's tasks module
    assert {task.task for task in stored.values()} <= set(app.tasks)


def test_a_persons_changes_survive_the_next_migrate():
    PeriodicTask.objects.filter(name="segmentation-refresh-live-segments").update(enabled=False)
    schedule_declared(apps.get_app_config("segmentation"))
    task = PeriodicTask.objects.get(name="segmentation-refresh-live-segments")
    assert task.enabled is False


def test_a_new_app_declares_its_own():
    class Config:
        periodic_tasks = [Periodic("privacy-purge", "rulecast.ping", crontab="0 4 * * 1")]

    assert schedule_declared(Config()) == ["privacy-purge"]
    assert PeriodicTask.objects.get(name="privacy-purge").crontab == CrontabSchedule.objects.get(
        minute="0", hour="4", day_of_week="1")


def test_a_declaration_needs_one_schedule():
    with pytest.raises(ValueError):
        Periodic("x", "rulecast.ping")
    with pytest.raises(ValueError):
        Periodic("x", "rulecast.ping", crontab="0 4 *")
