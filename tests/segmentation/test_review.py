"""The segment review page in the admin: what it shows, how it follows a run, its actions."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from segmentation.features import registry
from segmentation.models import Segmentation, SegmentationRun
from segmentation.review import run_review
from segmentation.rules import Rule, render_text
from segmentation.services import execute_run, publish_run

from .conftest import NOW, build_shop

pytestmark = pytest.mark.django_db


def review_url(run) -> str:
    return reverse("admin:segmentation_segmentationrun_review", args=[run.pk])


def publish_url(run) -> str:
    return reverse("admin:segmentation_segmentationrun_publish", args=[run.pk])


def requeue_url(run) -> str:
    return reverse("admin:segmentation_segmentationrun_requeue", args=[run.pk])


def json_script(page: str, element_id: str):
    pattern = rf'<script id="{re.escape(element_id)}" type="application/json">(.*?)</script>'
    match = re.search(pattern, page, re.S)
    assert match, f"no json_script {element_id!r}"
    return json.loads(match.group(1))


def new_run(name: str = "review", **fields) -> SegmentationRun:
    segmentation = Segmentation.objects.create(name=name, n_clusters=3)
    return SegmentationRun.objects.create(segmentation=segmentation, **fields)


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


@pytest.fixture
def viewer_client(client):
    """A staff user who may view runs but not change them."""
    user = User.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_segmentationrun"))
    client.force_login(user)
    return client


@pytest.fixture
def run(shop) -> SegmentationRun:
    return execute_run(run_id=new_run().pk, now=NOW)


def test_the_review_page_shows_each_segment_its_rule_and_charts(admin_client, run):
    response = admin_client.get(review_url(run))
    assert response.status_code == 200
    page = response.content.decode()
    catalog = registry.catalog()
    segments = list(run.segments.order_by("index"))
    assert len(segments) == run.metrics["k"] == 3
    for segment in segments:
        assert escape(segment.name) in page
        assert escape(render_text(Rule.from_dict(segment.rule), catalog, lang="en")) in page
        assert f'id="profile-chart-{segment.pk}"' in page
        profile = json_script(page, f"profile-data-{segment.pk}")
        assert len(profile["labels"]) == len(profile["segment"]) == len(profile["overall"]) > 0
        assert all(0 <= value <= 100 for value in profile["segment"] + profile["overall"])
        assert profile["x_title"] and profile["segment_label"] and profile["overall_label"]
        for fmt in ("text", "json", "jsonlogic", "sql"):
            url = reverse("admin:segmentation_segment_rules", args=[segment.pk, fmt])
            assert f'href="{url}?lang=en"' in page
        assert f'href="/admin/crm/customer/?segment={segment.pk}"' in page
    for fmt in ("text", "json", "jsonlogic", "sql"):
        url = reverse("admin:segmentation_segmentationrun_rules", args=[run.pk, fmt])
        assert f'href="{url}?lang=en"' in page
        assert admin_client.get(url).status_code == 200
    # the map: every point of metrics.map, one dataset per segment, axes with variance
    points = json_script(page, "rc-map-data")
    assert 'id="rc-map-chart"' in page and points["count"] == len(run.metrics["map"]["x"])
    assert sum(len(dataset["data"]) for dataset in points["datasets"]) == points["count"]
    names = {s.name for s in segments} | {"In no segment"}
    assert {dataset["label"] for dataset in points["datasets"]} <= names
    assert re.match(r"PC1 \(\d+% of variance\)", points["x_title"])
    # the comparison models and k
    assert json_script(page, "rc-cv-data")["labels"][0] == "Decision tree (the rules)"
    assert 'id="rc-cv-chart"' in page
    # confusion between rules and clusters: every count in the table
    table = page[page.index('id="rc-confusion"'):]
    table = table[:table.index("</table>")]
    for segment, counts in zip(segments, run.metrics["confusion"], strict=True):
        assert escape(segment.name) in table
        for count in counts:
            assert f">{count}</td>" in table
    assert "what campaigns can target" in page
    assert f'action="{publish_url(run)}"' in page
    assert "Ran " in page and "ago" in page
    assert "Fidelity" in page and "Price of explainability" in page


def test_the_review_page_speaks_chinese(admin_client, run):
    page = admin_client.get(review_url(run), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    catalog = registry.catalog()
    for segment in run.segments.all():
        assert segment.name_zh and escape(segment.name_zh) in page
        assert escape(render_text(Rule.from_dict(segment.rule), catalog, lang="zh")) in page
        url = reverse("admin:segmentation_segment_rules", args=[segment.pk, "text"])
        assert f'href="{url}?lang=zh"' in page


def test_the_selector_returns_plain_data(run):
    data = run_review(run, "en")
    json.dumps(data)  # nothing but plain Python structures
    assert data["succeeded"] and data["finished"] and not data["is_rfm"]
    first = data["segments"][0]
    rule = Rule.from_dict(run.segments.get(pk=first["id"]).rule)
    assert len(first["paths"]) == len(rule.clauses)
    assert all(box["label"] and box["test"] for row in first["paths"] for box in row)
    assert [row["stage"] for row in data["timings"]][:2] == ["features", "preprocess"]
    assert len(data["confusion"]["rows"]) == len(data["confusion"]["columns"]) == 3
    with translation.override("zh-hans"):
        assert run_review(run, "zh")["segments"][0]["title"] == run.segments.get(
            pk=first["id"]).name_zh


def test_a_running_run_shows_progress_and_follows_itself(admin_client, db):
    run = new_run(status="running", stage="cluster", progress=0.42)
    page = admin_client.get(review_url(run)).content.decode()
    status_url = reverse("admin:segmentation_segmentationrun_review_status", args=[run.pk])
    assert "Clustering" in page and 'value="42"' in page
    assert f'data-poll-url="{status_url}"' in page
    assert '<meta http-equiv="refresh" content="2">' in page  # without JavaScript
    assert "segmentation/review.js" in page
    status = admin_client.get(status_url).json()
    assert status == {"status": "running", "status_label": "Running", "stage": "cluster",
                      "stage_label": "Clustering", "percent": 42, "finished": False}
    assert f'action="{publish_url(run)}"' not in page


def test_a_saved_run_fills_in_its_diagnostics_while_the_page_follows(admin_client, run):
    # The run is usable (segments shown) while its diagnostics are computed after saving.
    assert "cv_accuracy" in run.metrics and "diagnostics_pending" not in run.metrics
    assert {"compare", "diagnostics"} <= set(run.timings)
    status_url = reverse("admin:segmentation_segmentationrun_review_status", args=[run.pk])
    assert admin_client.get(status_url).json()["finished"] is True
    metrics = {k: v for k, v in run.metrics.items() if k not in ("cv_accuracy", "map")}
    SegmentationRun.objects.filter(pk=run.pk).update(
        metrics={**metrics, "diagnostics_pending": True}, stage="diagnostics", progress=0.9)
    page = admin_client.get(review_url(run)).content.decode()
    assert f'data-poll-url="{status_url}"' in page
    assert "Scoring the saved segments" in page and "still being computed" in page
    assert all(escape(segment.name) in page for segment in run.segments.all())
    assert admin_client.get(status_url).json()["finished"] is False


def test_a_failed_run_shows_its_cause_and_can_run_again(admin_client, db):
    run = new_run(status="failed", stage="explain", error="PipelineError: Unknown features: x.")
    page = admin_client.get(review_url(run)).content.decode()
    assert "This run failed" in page and "PipelineError: Unknown features: x." in page
    assert f'action="{requeue_url(run)}"' in page and "Run again" in page
    response = admin_client.post(requeue_url(run))
    assert response.status_code == 302 and response["Location"] == review_url(run)
    run.refresh_from_db()
    assert run.status == "queued" and run.error == "" and run.progress == 0


def test_publishing_from_the_page(admin_client, run):
    assert admin_client.get(publish_url(run)).status_code == 405  # GET changes nothing
    run.refresh_from_db()
    assert not run.is_published
    response = admin_client.post(publish_url(run), follow=True)
    run.refresh_from_db()
    assert run.is_published and run.published_at
    page = response.content.decode()
    assert "is published" in page and f'action="{publish_url(run)}"' not in page
    segment = run.segments.first()
    assert f'href="/admin/campaigns/campaign/add/?target_segments={segment.pk}"' in page


def test_a_run_that_did_not_succeed_cannot_be_published(admin_client, db):
    run = new_run(status="failed", error="boom")
    response = admin_client.post(publish_url(run), follow=True)
    run.refresh_from_db()
    assert not run.is_published
    assert "Only a succeeded run can be published" in response.content.decode()


def test_a_view_only_user_reads_but_cannot_publish_or_requeue(viewer_client, run):
    page = viewer_client.get(review_url(run))
    assert page.status_code == 200
    assert f'action="{publish_url(run)}"' not in page.content.decode()
    assert viewer_client.post(publish_url(run)).status_code == 403
    assert viewer_client.post(requeue_url(run)).status_code == 403
    run.refresh_from_db()
    assert not run.is_published and run.status == "succeeded"


def test_staff_without_view_permission_is_refused(client, db):
    client.force_login(User.objects.create_user("clerk", "c@example.com", "pw", is_staff=True))
    run = new_run()
    assert client.get(review_url(run)).status_code == 403
    status_url = reverse("admin:segmentation_segmentationrun_review_status", args=[run.pk])
    assert client.get(status_url).status_code == 403
    assert client.get(reverse("admin:segmentation_segmentationrun_review", args=[999])
                      ).status_code in (403, 404)


def test_the_run_list_and_page_link_to_the_review(admin_client, db):
    run = new_run()
    assert review_url(run) in admin_client.get(
        reverse("admin:segmentation_segmentationrun_changelist")).content.decode()
    assert review_url(run) in admin_client.get(
        reverse("admin:segmentation_segmentationrun_change", args=[run.pk])).content.decode()


def test_a_second_run_shows_how_customers_moved(admin_client, run):
    publish_run(run=run)
    second = SegmentationRun.objects.create(segmentation=run.segmentation)
    second = execute_run(run_id=second.pk, now=NOW)
    assert second.metrics.get("stability")
    page = admin_client.get(review_url(second)).content.decode()
    assert 'id="rc-movement"' in page and "Adjusted Rand index" in page
    assert review_url(run) in page  # a link to the published run it compares with


def test_a_small_shop_run_has_no_map_or_confusion(admin_client, db):
    build_shop({"loyal": (30, 10, 500.0, 5, 600, 4), "lapsed": (30, 2, 100.0, 300, 700, 0)})
    run = execute_run(run_id=new_run().pk, now=NOW)
    assert run.metrics.get("method") == "rfm"
    response = admin_client.get(review_url(run))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="rc-map-data"' not in page and 'id="rc-confusion"' not in page
    assert "too few to cluster" in page
    for segment in run.segments.all():
        assert escape(segment.name) in page
