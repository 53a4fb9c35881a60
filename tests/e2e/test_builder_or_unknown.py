"""The rule builder's "or unknown" checkbox, in Chromium: ticked, customers without the value match.

Three customers aged 25, unknown and 40: "age at most 30" counts one, ticking
"or unknown" counts two, writes ``"or_unknown": true`` into the stored JSON,
reads "(or unknown)" in both languages, and is drawn ticked again after saving.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from crm.models import Customer
from segmentation.models import CustomerFeatures, Segment
from tests.e2e.conftest import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # no dev extra: the browser fixture skips the tests (fails them in CI)
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_ticking_or_unknown_counts_and_stores_the_unknown_ages(pages, admin_user):
    for i, age in enumerate((25.0, None, 40.0)):
        customer = Customer.objects.create(email=f"age{i}@example.com")
        CustomerFeatures.objects.update_or_create(  # saving a customer may compute its row
            customer=customer, defaults={"computed_at": NOW, "age_years": age})
    page = pages.new()
    log_in(page, admin_user)
    page.goto("/admin/segmentation/segment/add/")
    builder = page.locator(".rc-builder")
    page.fill("#id_name", "Young or unknown")
    row = builder.locator(".rc-row").first
    row.locator("select.rc-feature").select_option("age_years")
    row.locator("select.rc-op").select_option("<=")
    row.locator("input.rc-value").fill("30")
    count = page.locator(".rc-builder-count")
    expect(count).to_have_attribute("data-count", "1")
    row.locator("input.rc-or-unknown").check()
    expect(count).to_have_attribute("data-count", "2")
    expect(builder.locator(".rc-builder-en")).to_have_text("age at most 30 years (or unknown)")
    expect(builder.locator(".rc-builder-zh")).to_have_text("年龄不超过30岁（或未知）")
    stored = json.loads(page.locator("#id_rule_document").input_value())
    assert stored["any"][0]["all"][0] == {"feature": "age_years", "op": "<=", "value": 30,
                                          "or_unknown": True}
    page.locator('input[name="_continue"]').click()
    page.wait_for_url(re.compile(r".*/admin/segmentation/segment/\d+/change/"))
    segment = Segment.objects.get(name="Young or unknown")
    assert segment.rule["any"][0]["all"][0]["or_unknown"] is True and segment.size == 2
    expect(page.locator(".rc-row input.rc-or-unknown").first).to_be_checked()
    page.locator(".rc-row input.rc-or-unknown").first.uncheck()  # and back: the key goes
    expect(page.locator(".rc-builder-count")).to_have_attribute("data-count", "1")
    assert "or_unknown" not in page.locator("#id_rule_document").input_value()
