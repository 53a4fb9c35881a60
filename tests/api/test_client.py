"""A Python client generated from the schema (openapi-python-client) drives a live server.

The schema is fetched from the running server, the client is generated into a temporary
directory and imported, and a shop owner's journey runs through it: a token, customers
and orders in bulk, a segmentation run started and polled, published, a segment's rule
read, a campaign created and launched. Any mismatch between the schema and what the API
does (a field the server refuses or the client cannot read) breaks the journey.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone
from rest_framework.authtoken.models import Token

from campaigns.models import Campaign, Delivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "journey-pw-4815162342"
PACKAGE = "rulecast_generated_client"


@pytest.fixture
def generated_client(live_server, tmp_path):
    """The client package generated from the live server's schema, imported."""
    owner = User.objects.create_superuser("owner", "owner@example.com", PASSWORD)
    schema = httpx.get(f"{live_server.url}/api/v1/schema/?format=json",
                       headers={"Authorization": f"Token {Token.objects.create(user=owner)}"})
    assert schema.status_code == 200
    (tmp_path / "schema.json").write_text(json.dumps(schema.json()))
    (tmp_path / "config.yml").write_text("post_hooks: []\n")  # no formatter run
    subprocess.run(
        [str(Path(sys.executable).with_name("openapi-python-client")), "generate",
         "--path", "schema.json", "--output-path", PACKAGE, "--meta", "none",
         "--config", "config.yml"],
        cwd=tmp_path, check=True, capture_output=True, timeout=120,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def module(package, name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_shop_owners_journey_through_the_generated_client(generated_client, live_server):
    api = lambda name: module(generated_client, f"api.{name}")  # noqa: E731
    models = module(generated_client, "models")
    anonymous = generated_client.Client(base_url=live_server.url, raise_on_unexpected_status=True)

    token = api("token.token_create").sync(
        client=anonymous, body=models.CredentialsRequest(username="owner", password=PASSWORD))
    assert isinstance(token, models.Token), token
    client = generated_client.AuthenticatedClient(
        base_url=live_server.url, token=token.token, prefix="Token",
        raise_on_unexpected_status=True)

    # 60 customers who agreed to email, and 1 to 4 orders each over the last year.
    customers = [models.CustomerItemRequest(
        external_id=f"J-{n}", email=f"j{n}@example.com", name=f"Journey {n}",
        consent_status=models.ConsentStatusEnum.GRANTED,
        signed_up_at=timezone.now() - timedelta(days=400)) for n in range(60)]
    created = api("customers.customers_bulk_create").sync(
        client=client, body=models.BulkCustomersRequest(items=customers))
    assert isinstance(created, models.BulkResult) and created.created == 60, created
    now = timezone.now()
    orders = [models.OrderItemRequest(
        external_id=f"JO-{n}-{k}", customer_external_id=f"J-{n}",
        placed_at=now - timedelta(days=3 + (n * 37 + k * 11) % 360),
        amount=f"{20 + (n * 53) % 900}.50") for n in range(60) for k in range(1 + n % 4)]
    written = api("orders.orders_bulk_create").sync(
        client=client, body=models.BulkOrdersRequest(items=orders))
    assert isinstance(written, models.BulkResult) and written.created == len(orders), written

    segmentation = api("segmentations.segmentations_create").sync(
        client=client, body=models.SegmentationRequest(name="Journey", n_clusters=3))
    assert isinstance(segmentation, models.Segmentation), segmentation
    run = api("segmentations.segmentations_run_create").sync(segmentation.id, client=client)
    assert isinstance(run, models.SegmentationRun), run
    for _ in range(50):  # tasks run in-process here: finished by the first poll
        run = api("runs.runs_retrieve").sync(run.id, client=client)
        if run.status in ("succeeded", "failed"):
            break
    assert run.status == "succeeded", run.error
    run = api("runs.runs_publish_create").sync(run.id, client=client)
    assert run.is_published and run.segments

    segment = max(run.segments, key=lambda s: s.size)
    rules = api("segments.segments_rules_retrieve").sync(segment.id, client=client)
    assert isinstance(rules, models.RuleExport), rules
    assert rules.format_ == "json" and rules.segments[0].id == segment.id
    assert rules.segments[0].to_dict()["rule"]["version"] == 1

    campaign = api("campaigns.campaigns_create").sync(client=client, body=models.CampaignRequest(
        name="Journey sale", subject="{{ name }}, a sale", segments=[segment.id],
        html_body='<p>Hi {{ name }}, <a href="https://shop.example.com/">shop</a></p>',
        text_body="Hi {{ name }}"))
    assert isinstance(campaign, models.Campaign), campaign
    launched = api("campaigns.campaigns_launch_create").sync(campaign.id, client=client)
    assert isinstance(launched, models.Campaign), launched
    assert launched.status in ("sending", "sent") and launched.recipient_count == segment.size
    assert Delivery.objects.filter(campaign_id=campaign.id).count() == segment.size
    assert Campaign.objects.get(pk=campaign.id).launched_at is not None
    assert len(mail.outbox) == segment.size  # tasks run in-process, to the locmem backend
