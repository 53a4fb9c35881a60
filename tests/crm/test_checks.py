"""System checks for throttles, login limits, periodic tasks and API limits."""

from django.core.checks import run_checks


def ids(include_deployment_checks: bool = False) -> set[str]:
    return {message.id for message in run_checks(
        include_deployment_checks=include_deployment_checks)}


def test_the_project_passes():
    assert not {i for i in ids(True) if i.startswith(("crm.", "segmentation."))}


def test_a_header_trusting_throttle_is_warned_about(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": None}
    assert "crm.W001" in ids(True)


def test_periodic_tasks_without_the_database_scheduler(settings):
    settings.CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
    assert "crm.W002" in ids(True)


def test_a_per_process_cache_is_warned_about_in_production(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "crm.W003" in ids(True) and "crm.W003" not in ids()


def test_bad_limits(settings):
    settings.RULECAST_CRM = {"JSON_MAX_DEPTH": 0}
    settings.RULECAST_SEGMENTATION = {"RUN_HEARTBEAT": 60, "RUN_TIMEOUT": 60,
                                      "RUN_MAX_REQUEUES": -1}
    assert {"crm.E002", "segmentation.E004", "segmentation.E005"} <= ids()
