"""The README's "Your own features" example works as written (imports included)."""

import re
from datetime import timedelta

import pytest

from crm.models import Customer, Event
from segmentation.admin_builder import builder_catalog
from segmentation.features import registry
from segmentation.features.store import refresh_feature_table
from segmentation.querying import members_queryset
from tests.e2e.conftest import ROOT

from .conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def readme_feature():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [source] = re.findall(r"```python\n(# yourapp/apps.py\n.*?)```", readme, re.S)
    namespace: dict = {"__name__": "yourapp.apps"}
    exec(compile(source, "README.md", "exec"), namespace)  # noqa: S102 — our own README
    namespace["YourAppConfig"].ready(None)
    yield registry["reviews_written"]
    registry.unregister("reviews_written")


def test_the_readme_feature_is_computed_and_selects_customers(readme_feature):
    writer = Customer.objects.create(email="w@example.com")
    Customer.objects.create(email="quiet@example.com")
    Event.objects.bulk_create([
        Event(customer=writer, event_type="review", occurred_at=NOW - timedelta(days=d))
        for d in (1, 2)])
    refresh_feature_table(now=NOW)
    rule = {"version": 1, "any": [{"all": [
        {"feature": "reviews_written", "op": ">=", "value": 2}]}]}
    assert list(members_queryset(rule)) == [writer]
    offered = {f["name"]: f for f in builder_catalog("zh")}
    assert offered["reviews_written"]["label"] == "评价数"
