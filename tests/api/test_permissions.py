"""Who may do what: every operation of the schema, anonymously and with too few permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns.tokens import make_token

from .conftest import token_client, user_with

pytestmark = pytest.mark.django_db

PUBLIC = {"/api/v1/token/", "/api/v1/signup/", "/api/v1/signup/confirm/"}  # token; double opt-in
READS = {"get", "head", "options"}


@pytest.fixture
def operations(api, world) -> list[tuple[str, str]]:
    """Every (method, URL) of /api/v1/schema/, ids naming objects of ``world``."""
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    ids = {
        "customers": world["customers"][0].pk, "orders": world["order"].pk,
        "events": world["event"].pk, "segmentations": world["segmentation"].pk,
        "runs": world["run"].pk, "segments": world["manual"].pk,
        "campaigns": world["campaign"].pk,
    }
    found = []
    for path, item in schema["paths"].items():
        if path in PUBLIC:
            continue
        url = path.replace("{id}", str(ids[path.split("/")[3]]))
        found += [(method, url) for method in item if method != "parameters"]
    assert len(found) > 50
    return found


def call(client: APIClient, method: str, url: str):
    return getattr(client, method)(url, {}, format="json") if method not in READS else (
        getattr(client, method)(url)
    )


def test_nothing_answers_an_anonymous_client(operations):
    client = APIClient()
    refused = {(m, u): call(client, m, u).status_code for m, u in operations}
    assert set(refused.values()) == {401}, {k: v for k, v in refused.items() if v != 401}


def test_a_bad_token_is_refused(operations):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert {call(client, m, u).status_code for m, u in operations} == {401}


def test_nothing_answers_a_user_without_permissions(operations, nobody):
    refused = {(m, u): call(nobody, m, u).status_code for m, u in operations}
    assert set(refused.values()) == {403}, {k: v for k, v in refused.items() if v != 403}


def test_a_viewer_reads_everything_and_writes_nothing(operations, viewer):
    for method, url in operations:
        status = call(viewer, method, url).status_code
        if method in READS:
            assert status == 200, (method, url, status)
        else:
            assert status == 403, (method, url, status)


def test_the_schema_and_its_page_need_a_user(client, superuser):
    assert APIClient().get("/api/v1/schema/").status_code == 401
    assert client.get("/api/v1/docs/").status_code in (401, 403)
    client.force_login(superuser)
    assert client.get("/api/v1/docs/").status_code == 200


def test_recipients_pages_need_no_login(client, world):
    """Tracking and unsubscribe are the public exceptions (campaigns' plain views)."""
    token = make_token(123456)
    for url in [
        reverse("campaigns:open", args=[token]),
        reverse("campaigns:unsubscribe", args=["preview"]),
        reverse("campaigns:unsubscribe", args=[token]),
        reverse("campaigns:click", args=[1, token]),
    ]:
        response = client.get(url)
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        assert "login" not in response.get("Location", "")


def test_bulk_upsert_needs_add_and_change(world):
    adder = token_client(user_with("adder", ["crm.add_customer", "crm.view_customer"]))
    body = {"items": [{"email": "new@example.com"}]}
    assert adder.post("/api/v1/customers/bulk/", body, format="json").status_code == 403
    assert adder.post("/api/v1/customers/", {"email": "new@example.com"},
                      format="json").status_code == 201
    both = token_client(user_with("both", ["crm.add_customer", "crm.change_customer"]))
    assert both.post("/api/v1/customers/bulk/", body, format="json").status_code == 200


def test_custom_actions_need_the_change_permission(world):
    publisher = token_client(user_with("publisher", [
        "segmentation.view_segmentationrun", "segmentation.add_segmentationrun",
    ]))
    url = f"/api/v1/runs/{world['draft_run'].pk}/publish/"
    assert publisher.post(url).status_code == 403
    publisher = token_client(user_with("publisher2", ["segmentation.change_segmentationrun"]))
    assert publisher.post(url).status_code == 200

    launcher = token_client(user_with("launcher", ["campaigns.add_campaign"]))
    url = f"/api/v1/campaigns/{world['campaign'].pk}/launch/"
    assert launcher.post(url).status_code == 403
    runner = token_client(user_with("runner", ["segmentation.add_segmentation"]))
    assert runner.post(f"/api/v1/segmentations/{world['segmentation'].pk}/run/").status_code == 403


def test_members_and_previews_show_customers(world):
    """Reading a segment's members or a campaign's preview also needs crm.view_customer."""
    segment_viewer = token_client(user_with("segments", ["segmentation.view_segment",
                                                         "campaigns.view_campaign"]))
    segment = world["segments"][0]
    assert segment_viewer.get(f"/api/v1/segments/{segment.pk}/").status_code == 200
    assert segment_viewer.get(f"/api/v1/segments/{segment.pk}/members/").status_code == 403
    campaign = world["campaign"]
    assert segment_viewer.get(f"/api/v1/campaigns/{campaign.pk}/preview/").status_code == 403
    both = token_client(user_with("both", ["segmentation.view_segment", "crm.view_customer",
                                           "campaigns.view_campaign"]))
    assert both.get(f"/api/v1/segments/{segment.pk}/members/").json()["count"] == 3
    assert both.get(f"/api/v1/campaigns/{campaign.pk}/preview/").status_code == 200
