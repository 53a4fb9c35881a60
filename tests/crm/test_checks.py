"""System checks of the crm settings: the shop's currency is an ISO 4217 code."""

from crm.checks import check_crm_settings


def ids() -> set[str]:
    return {message.id for message in check_crm_settings(None)}


def test_the_shop_currency_must_be_an_iso_code(settings):
    assert ids() == set()
    settings.RULECAST_CRM = {"DEFAULT_CURRENCY": "USD"}
    assert ids() == set()
    for bad in ("usd", "DOLLARS", "XYZ", 840):
        settings.RULECAST_CRM = {"DEFAULT_CURRENCY": bad}
        assert "crm.E002" in ids(), bad
