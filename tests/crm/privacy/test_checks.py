"""System checks catch bad privacy settings."""

from django.core.checks import run_checks


def ids() -> set[str]:
    return {message.id for message in run_checks()}


def test_bad_retention_and_link_age_are_reported(settings):
    assert not {"crm.E101", "campaigns.E101"} & ids()
    settings.RULECAST_CRM = {"SIGNUP_CONFIRM_MAX_AGE": "2 days"}
    settings.RULECAST_CAMPAIGNS = {"TRACKING_RETENTION_DAYS": -1}
    assert {"crm.E101", "campaigns.E101"} <= ids()
