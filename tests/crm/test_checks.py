"""crm's system checks: currency, throttles, login limits, periodic tasks, API limits."""

from django.core.checks import run_checks

from crm.checks import check_crm_settings


def currency_ids() -> set[str]:
    return {message.id for message in check_crm_settings(None)}


def test_the_shop_currency_must_be_an_iso_code(settings):
    assert currency_ids() == set()
    settings.RULECAST_CRM = {"DEFAULT_CURRENCY": "USD"}
    assert currency_ids() == set()
    for bad in ("usd", "DOLLARS", "XYZ", 840):
        settings.RULECAST_CRM = {"DEFAULT_CURRENCY": bad}
        assert "crm.E002" in currency_ids(), bad



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
                                      "RUN_MAX_REQUEUES": -1, "LIVE_REFRESH_ALL_SHARE": 0,
                                      "KEEP_MEMBERS_OF_RUNS": 0,
                                      "KEEP_MEMBERSHIP_CHANGES_DAYS": 0}
    assert {"crm.E003", "segmentation.E007", "segmentation.E008",
            "segmentation.E009", "segmentation.E010"} <= ids()
