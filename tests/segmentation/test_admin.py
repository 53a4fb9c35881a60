"""The segmentation admin: hand-written segments, rule downloads, run pages."""

import json

import pytest
from django.contrib.auth.models import User

from segmentation.features.store import refresh_feature_table
from segmentation.models import Segment, Segmentation, SegmentationRun
from segmentation.services import execute_run

from .conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def add_segment(client, rule, fmt="json"):
    return client.post("/admin/segmentation/segment/add/", {
        "name": "Frequent", "name_zh": "", "description": "", "description_zh": "",
        "rule_format": fmt, "rule_document": json.dumps(rule),
    })


def test_a_bad_rule_is_refused_on_the_form(admin_client, db):
    response = add_segment(admin_client, {"version": 1, "any": [{"all": [
        {"feature": "spend", "op": ">", "value": 1}]}]})
    assert response.status_code == 200
    assert "unknown feature &#x27;spend&#x27;" in response.content.decode()
    assert not Segment.objects.exists()


def test_a_hand_written_segment_is_saved_with_its_members(admin_client, shop):
    refresh_feature_table(now=NOW)
    response = add_segment(admin_client, {">=": [{"var": "frequency"}, 10]}, "jsonlogic")
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.kind == "manual" and segment.size > 0
    page = admin_client.get(f"/admin/segmentation/segment/{segment.pk}/change/").content.decode()
    assert "orders at least 10" in page


def test_run_page_and_rule_downloads(admin_client, shop):
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="adm", n_clusters=3))
    run = execute_run(run_id=run.pk, now=NOW)
    page = admin_client.get(f"/admin/segmentation/segmentationrun/{run.pk}/change/")
    assert page.status_code == 200
    for segment in run.segments.all():
        assert segment.name in page.content.decode()
    for fmt in ("text", "json", "jsonlogic", "sql"):
        response = admin_client.get(f"/admin/segmentation/segmentationrun/{run.pk}/rules/{fmt}/")
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
    assert admin_client.get(
        f"/admin/segmentation/segmentationrun/{run.pk}/rules/yaml/").status_code == 404


def test_customers_filtered_by_segment_show_their_features_and_segments(admin_client, shop):
    from segmentation.services import publish_run

    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="cust", n_clusters=3))
    run = publish_run(run=execute_run(run_id=run.pk, now=NOW))
    segment = run.segments.order_by("index").first()
    listing = admin_client.get("/admin/crm/customer/", {"segment": segment.pk})
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == segment.size
    recent = admin_client.get("/admin/crm/customer/", {"last_order": "30"})
    assert recent.status_code == 200
    member = segment.members().first()
    page = admin_client.get(f"/admin/crm/customer/{member.pk}/change/").content.decode()
    assert segment.name in page
    assert "time since last order" in page


def test_one_button_starts_a_run_and_shows_its_review(admin_client, shop,
                                                      django_capture_on_commit_callbacks):
    segmentation = Segmentation.objects.create(name="button", n_clusters=3)
    page = admin_client.get(f"/admin/segmentation/segmentation/{segmentation.pk}/change/")
    start = f"/admin/segmentation/segmentation/{segmentation.pk}/start/"
    assert start in page.content.decode()
    assert admin_client.get(start).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(start)
    run = SegmentationRun.objects.get(segmentation=segmentation)
    assert response.status_code == 302 and response["Location"].endswith(f"/{run.pk}/review/")
    run.refresh_from_db()
    assert run.status == "succeeded", run.error


def test_a_5000_deep_rule_is_a_form_error_not_a_500(admin_client, db):
    response = admin_client.post("/admin/segmentation/segment/add/", {
        "name": "Deep", "name_zh": "", "description": "", "description_zh": "",
        "rule_format": "json", "rule_document": "[" * 5000 + "]" * 5000,
    })
    assert response.status_code == 200
    assert "nests deeper than 32 levels" in response.content.decode()
    assert not Segment.objects.exists()


def test_everyone_is_a_choice_on_the_form(admin_client, db):
    slip = add_segment(admin_client, {"version": 1, "any": [{"all": []}]})
    assert slip.status_code == 200 and "explicitly" in slip.content.decode()
    assert not Segment.objects.exists()
    chosen = admin_client.post("/admin/segmentation/segment/add/", {
        "name": "All", "name_zh": "", "description": "", "description_zh": "",
        "everyone": "on", "rule_format": "json", "rule_document": "",
    })
    assert chosen.status_code == 302
    assert Segment.objects.get().rule == {"version": 1, "any": [{"all": []}]}
