"""Periodic work each app declares, scheduled in celery beat by ``migrate``.

An app lists its periodic tasks on its AppConfig::

    class SegmentationConfig(AppConfig):
        periodic_tasks = [
            Periodic("segmentation-refresh-live", "segmentation.refresh_all_live_segments",
                     crontab="30 3 * * *"),
        ]

After ``migrate`` (``post_migrate``, sent once per app) each declaration becomes one
django_celery_beat ``PeriodicTask`` of that name, run by ``celery beat`` with its
``DatabaseScheduler``. A task that already exists is left as it is, so a person's
changes in the admin (another time, disabled) survive the next deployment. Without
django_celery_beat installed nothing is scheduled and system check ``crm.W002`` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

BEAT_APP = "django_celery_beat"


@dataclass(frozen=True)
class Periodic:
    """One periodic task: ``crontab`` ("minute hour day month weekday") or ``every`` seconds."""

    name: str
    task: str
    crontab: str | None = None
    every: int | None = None
    kwargs: dict = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if (self.crontab is None) == (self.every is None):
            raise ValueError(f"{self.name}: give exactly one of crontab and every")
        if self.crontab is not None and len(self.crontab.split()) != 5:
            raise ValueError(f"{self.name}: a crontab has five fields")


def declared(app_config: AppConfig) -> list[Periodic]:
    """The periodic tasks an app declares (``AppConfig.periodic_tasks``)."""
    return list(getattr(app_config, "periodic_tasks", ()) or ())


def _schedule(periodic: Periodic, using: str) -> dict:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    if periodic.every is not None:
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=periodic.every, period=IntervalSchedule.SECONDS)
        return {"interval": interval}
    minute, hour, day_of_month, month_of_year, day_of_week = periodic.crontab.split()
    crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
        day_of_week=day_of_week, timezone=settings.TIME_ZONE,
    )
    return {"crontab": crontab}


def schedule_declared(app_config: AppConfig, *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create the beat entries ``app_config`` declares that do not exist yet; their names."""
    tasks = declared(app_config)
    if not tasks or not apps.is_installed(BEAT_APP):
        return []
    from django_celery_beat.models import PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return []  # migrate was run for some apps only: the next full migrate does it
    created = []
    for periodic in tasks:
        if PeriodicTask.objects.using(using).filter(name=periodic.name).exists():
            continue
        PeriodicTask.objects.using(using).create(
            name=periodic.name, task=periodic.task, kwargs=json.dumps(periodic.kwargs),
            description=periodic.description, **_schedule(periodic, using),
        )
        created.append(periodic.name)
    return created


def on_post_migrate(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """``post_migrate`` receiver (connected in CrmConfig.ready) for every app."""
    schedule_declared(sender, using=using)
