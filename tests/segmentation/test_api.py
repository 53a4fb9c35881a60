"""The segmentation API: runs, segments, rules in every format, hand-written segments."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from segmentation.features.store import refresh_feature_table
from segmentation.models import Segment, Segmentation, SegmentationRun
from segmentation.services import execute_run

from .conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


@pytest.fixture
def run(shop):
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="api", n_clusters=3))
    return execute_run(run_id=run.pk, now=NOW)


def test_segment_rules_in_every_format(api, run):
    segment = run.segments.first()
    for fmt, expected in [("text", "text/plain"), ("json", "application/json"),
                          ("jsonlogic", "application/json"), ("sql", "application/sql")]:
        response = api.get(f"/api/v1/segments/{segment.pk}/rules/", {"format": fmt})
        assert response.status_code == 200, (fmt, response.content)
        assert response["Content-Type"].startswith(expected)
        assert segment.name in response.content.decode()
    zh = api.get(f"/api/v1/segments/{segment.pk}/rules/", {"format": "text", "lang": "zh"})
    assert segment.name_zh in zh.content.decode()
    bad = api.get(f"/api/v1/segments/{segment.pk}/rules/", {"format": "yaml"})
    assert bad.status_code == 400 and "format" in bad.json()


def test_run_rules_and_members_paged(api, run):
    response = api.get(f"/api/v1/runs/{run.pk}/rules/", {"format": "text"})
    assert all(s.name in response.content.decode() for s in run.segments.all())
    segment = run.segments.first()
    members = api.get(f"/api/v1/segments/{segment.pk}/members/").json()
    assert members["count"] == segment.size
    assert len(members["results"]) == min(50, segment.size)


def test_start_a_run_answers_202_with_a_url_to_poll(api, shop,
                                                    django_capture_on_commit_callbacks):
    segmentation = Segmentation.objects.create(name="poll", n_clusters=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/segmentations/{segmentation.pk}/run/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    polled = api.get(response["Location"]).json()
    assert polled["status"] == "succeeded"  # the task ran (eagerly) once committed
    assert len(polled["segments"]) == 3


def test_hand_written_segment_from_jsonlogic(api, shop):
    refresh_feature_table(now=NOW)
    response = api.post("/api/v1/segments/", {
        "name": "Frequent", "rule_format": "jsonlogic",
        "rule": {">=": [{"var": "frequency"}, 10]},
    }, format="json")
    assert response.status_code == 201, response.json()
    segment = Segment.objects.get(pk=response.json()["id"])
    assert segment.kind == "manual" and segment.size > 0


@pytest.mark.parametrize("rule, fmt, message", [
    ({"version": 1, "any": [{"all": [{"feature": "spend", "op": ">", "value": 1}]}]}, "json",
     "unknown feature 'spend'"),
    ({"version": 1, "any": [{"all": [{"feature": "frequency", "op": ">", "value": "x"}]}]},
     "json", "any[0].all[0]"),
    ({"and": [{"~": [1]}]}, "jsonlogic", ""),
])
def test_bad_rules_get_400_with_the_reason_and_write_nothing(api, db, rule, fmt, message):
    response = api.post("/api/v1/segments/", {"name": "bad", "rule_format": fmt, "rule": rule},
                        format="json")
    assert response.status_code == 400
    assert message in response.json()["rule"][0]
    assert not Segment.objects.exists()


def test_a_run_can_set_its_own_time_and_k_without_changing_the_segmentation(
        api, shop, django_capture_on_commit_callbacks):
    segmentation = Segmentation.objects.create(name="once", k_min=2, k_max=5)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/segmentations/{segmentation.pk}/run/",
                            {"as_of": "2026-05-31T00:00:00Z", "n_clusters": 4}, format="json")
    assert response.status_code == 202, response.content
    polled = api.get(response["Location"]).json()
    assert polled["status"] == "succeeded", polled["error"]
    assert polled["as_of"].startswith("2026-05-31") and polled["options"] == {"n_clusters": 4}
    assert polled["metrics"]["k"] == 4
    segmentation.refresh_from_db()
    assert segmentation.n_clusters is None
    bad = api.post(f"/api/v1/segmentations/{segmentation.pk}/run/", {"n_clusters": 1},
                   format="json")
    assert bad.status_code == 400 and "n_clusters" in bad.json()


def test_run_labels_export_segment_and_cluster(api, run):
    response = api.get(f"/api/v1/runs/{run.pk}/labels/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "customer_id,segment,segment_name,cluster"
    assert len(lines) - 1 == run.customer_count
