"""System checks of the campaigns settings."""

from campaigns.checks import check_campaigns_settings


def ids(settings) -> set[str]:
    return {message.id for message in check_campaigns_settings(None)}


def test_defaults_pass(settings):
    settings.DEBUG = True
    assert ids(settings) == set()


def test_base_url_must_be_https_without_debug(settings):
    settings.DEBUG = False
    assert "campaigns.W001" in ids(settings)
    settings.RULECAST_CAMPAIGNS = {"BASE_URL": "https://shop.example.com"}
    assert ids(settings) == set()
    settings.RULECAST_CAMPAIGNS = {"BASE_URL": "shop.example.com"}
    assert "campaigns.E002" in ids(settings)


def test_retry_delays_stay_under_the_visibility_timeout(settings):
    settings.DEBUG = True
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
    assert "campaigns.E001" in ids(settings)
    settings.RULECAST_CAMPAIGNS = {"RETRY_BACKOFF_MAX": 300}
    assert ids(settings) == set()


def test_bad_numbers_and_sending_timeout(settings):
    settings.DEBUG = True
    settings.RULECAST_CAMPAIGNS = {"BATCH_SIZE": 0, "SENDING_TIMEOUT": 30, "CLAIM_SIZE": 2}
    assert {"campaigns.E003", "campaigns.E004"} <= ids(settings)


def wiring_ids() -> set[str]:
    from campaigns.checks import check_host_wiring

    return {message.id for message in check_host_wiring(None)}


def test_no_broker_and_no_eager_tasks_warns_that_nothing_would_run(settings):
    settings.DEBUG = True
    settings.CELERY_BROKER_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert "campaigns.W002" in wiring_ids()
    settings.CELERY_TASK_ALWAYS_EAGER = True  # tasks run in the request: fine
    assert "campaigns.W002" not in wiring_ids()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    assert wiring_ids() == set()


def test_the_default_email_base_url_warns_without_debug(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.DEBUG = False
    settings.RULECAST_CAMPAIGNS = {}
    assert "campaigns.W003" in wiring_ids()
    settings.DEBUG = True
    assert wiring_ids() == set()
    settings.DEBUG = False
    settings.RULECAST_CAMPAIGNS = {"BASE_URL": "https://shop.example.com"}
    assert wiring_ids() == set()


def test_a_long_lease_is_warned_about(settings):
    settings.RULECAST_CAMPAIGNS = {"SENDING_TIMEOUT": 300}
    assert "campaigns.W004" in ids(settings)
