"""In the browser: the win-back email for the lapsed segment takes one form."""

from __future__ import annotations

import pytest

from campaigns.automation.models import Trigger
from campaigns.models import Campaign, CampaignStatus
from tests.campaigns.conftest import SegmentMaker, make_customers
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_sets_up_a_win_back_email_in_one_form(pages, admin_user):
    segments = SegmentMaker()
    customers = make_customers(10)
    segments(customers[:4], name="Loyal customers")
    lapsed = segments(customers[4:], name="Lapsed customers")
    page = pages.new()
    log_in(page, admin_user)

    page.goto("/admin/campaigns/campaign/")
    page.get_by_role("link", name="Set up a win-back email").click()
    page.wait_for_url("**/campaign/winback/")
    assert page.locator("#id_segment").input_value() == str(lapsed.pk)  # chosen for you
    page.fill("#id_offer_url", "https://shop.example.com/welcome-back")
    page.get_by_role("button", name="Set up the win-back email").click()

    campaign = Campaign.objects.get()
    page.wait_for_url(f"**/admin/campaigns/campaign/{campaign.pk}/change/")
    assert "The win-back email is set up." in page.content()
    assert page.locator("#automation-counts").is_visible()
    assert campaign.status == CampaignStatus.SENDING
    trigger = Trigger.objects.get(campaign=campaign)
    assert trigger.activated_at is not None and trigger.delay_days == 3
    assert list(campaign.segments.all()) == [lapsed]
