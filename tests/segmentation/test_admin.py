"""The segmentation admin: hand-written segments, rule downloads, run pages."""

import json
import re

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


# --- no JSON typed: the rule builder, copies of learned segments, feature checkboxes ---------


def preview(client, rule, lang="en"):
    return client.get("/admin/segmentation/segment/builder/preview/",
                      {"rule": json.dumps(rule)}, HTTP_ACCEPT_LANGUAGE=lang).json()


def builder_config(page: str) -> dict:
    return json.loads(page.split('-catalog" type="application/json">')[1].split("</script>")[0])


def test_the_add_form_draws_the_builder_with_labels_and_units(admin_client, db):
    page = admin_client.get("/admin/segmentation/segment/add/").content.decode()
    assert 'class="rc-builder"' in page and "segmentation/rule_builder.js" in page
    config = builder_config(page)
    features = {f["name"]: f for f in config["features"]}
    assert features["frequency"]["label"] == "orders" and features["frequency"]["unit"] == "orders"
    assert features["recency_days"]["unit"] == "days"
    assert features["total_spend"]["unit"] == "¥"
    assert features["top_category_share"]["scale"] == 100  # typed as a percentage
    assert config["preview_url"] == "/admin/segmentation/segment/builder/preview/"
    chinese = admin_client.get("/admin/segmentation/segment/add/",
                               HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    config = builder_config(chinese)
    assert {f["name"]: f["label"] for f in config["features"]}["frequency"] == "订单数"
    assert config["texts"]["advanced"] == "高级（JSON）"
    assert config["ops"][">="] == "至少"


def test_the_builder_preview_counts_members_and_reads_the_rule_in_both_languages(
        admin_client, shop):
    from segmentation.querying import members_queryset

    refresh_feature_table(now=NOW)
    rule = {"version": 1, "any": [
        {"all": [{"feature": "frequency", "op": ">=", "value": 3},
                 {"feature": "recency_days", "op": "<=", "value": 90}]},
        {"all": [{"feature": "total_spend", "op": ">", "value": 2000}]}]}
    answer = preview(admin_client, rule)
    assert answer["ok"] is True
    assert answer["count"] == members_queryset(rule).count() > 0
    assert "orders at least 3 and time since last order at most 90 days" in answer["sentence_en"]
    assert "; or total spend more than ¥2,000" in answer["sentence_en"]
    assert "订单数至少3" in answer["sentence_zh"]
    wrong = preview(admin_client, {"version": 1, "any": [{"all": [
        {"feature": "orders", "op": ">", "value": 1}]}]})
    assert wrong["ok"] is False and "unknown feature 'orders'" in wrong["error"]


def test_the_builder_preview_needs_a_staff_user_who_may_write_segments(client, db):
    client.force_login(User.objects.create_user("viewer", "v@example.com", "pw", is_staff=True))
    response = client.get("/admin/segmentation/segment/builder/preview/", {"rule": "{}"})
    assert response.status_code == 403


def test_a_learned_segment_is_edited_as_a_hand_written_copy(admin_client, shop):
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="copy", n_clusters=3))
    run = execute_run(run_id=run.pk, now=NOW)
    learned = run.segments.order_by("index").first()
    page = admin_client.get(f"/admin/segmentation/segment/{learned.pk}/change/").content.decode()
    copy_url = f"/admin/segmentation/segment/add/?copy_of={learned.pk}"
    assert copy_url in page
    form = admin_client.get(copy_url).context["adminform"].form
    assert form.initial["name"] == f"{learned.name} (copy)"
    assert json.loads(form.initial["rule_document"]) == learned.rule
    response = admin_client.post("/admin/segmentation/segment/add/", {
        "name": "My copy", "name_zh": "", "description": "", "description_zh": "",
        "rule_format": "json", "rule_document": form.initial["rule_document"]})
    assert response.status_code == 302
    copy = Segment.objects.get(name="My copy")
    assert copy.kind == "manual" and copy.size == learned.size


def test_the_feature_list_is_checkboxes_and_the_default_set_stays_default(admin_client, db):
    page = admin_client.get("/admin/segmentation/segmentation/add/").content.decode()
    assert 'type="checkbox" name="features" value="frequency"' in page
    assert "orders (orders)" in page and "time since last order (days)" in page
    base = {"name": "chk", "description": "", "algorithm": "kmeans", "n_clusters": "",
            "k_min": 3, "k_max": 8, "max_leaves": "", "sample_size": 10000, "random_seed": 0}
    from segmentation.conf import segmentation_settings

    admin_client.post("/admin/segmentation/segmentation/add/",
                      {**base, "features": segmentation_settings.DEFAULT_FEATURES})
    assert Segmentation.objects.get(name="chk").features == []  # follows the default set
    admin_client.post("/admin/segmentation/segmentation/add/",
                      {**base, "name": "two", "features": ["total_spend", "frequency"]})
    assert Segmentation.objects.get(name="two").features == ["frequency", "total_spend"]
    refused = admin_client.post("/admin/segmentation/segmentation/add/", {**base, "name": "none"})
    assert refused.status_code == 200 and not Segmentation.objects.filter(name="none").exists()


def test_shares_on_segment_pages_read_as_percentages(admin_client, shop):
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="pct", n_clusters=3))
    run = execute_run(run_id=run.pk, now=NOW)
    segment = run.segments.order_by("index").first()
    listing = admin_client.get("/admin/segmentation/segment/").content.decode()
    assert f"{segment.share * 100:.0f}%" in listing
    assert repr(segment.share) not in listing


def test_the_customer_page_rounds_features_and_hides_the_demo_group(admin_client, db):
    from django.utils import timezone

    from crm.demo import DEMO_GROUP_KEY, seed_demo_shop
    from crm.models import Customer

    seed_demo_shop(customers=40, seed=3, now=NOW)
    refresh_feature_table(now=NOW + timezone.timedelta(hours=7, minutes=13))
    customer = Customer.objects.filter(orders__isnull=False).first()
    Customer.objects.filter(pk=customer.pk).update(
        attributes={**customer.attributes, "size": "XL"})
    group = customer.attributes[DEMO_GROUP_KEY]
    page = admin_client.get(f"/admin/crm/customer/{customer.pk}/change/").content.decode()
    assert "<th>size</th><td>XL</td>" in page
    assert DEMO_GROUP_KEY not in page and group not in page
    days = [cell for cell in page.split("<td>") if " days</td>" in cell.split("\n")[0]]
    assert days and all("." not in cell.split(" days")[0] for cell in days), days


def test_run_and_segment_pages_show_numbers_for_people_not_json(admin_client, shop):
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name="fmt", n_clusters=3))
    run = execute_run(run_id=run.pk, now=NOW)
    page = admin_client.get(f"/admin/segmentation/segmentationrun/{run.pk}/change/")
    text = page.content.decode()
    assert f"{run.metrics['fidelity']:.1%}" in text  # e.g. 99.6%
    assert '"k_scores"' not in text and '"cv_accuracy"' not in text  # no JSON dump
    assert "time since last order" in text  # the run's features by their labels
    segment = run.segments.order_by("index").first()
    text = admin_client.get(f"/admin/segmentation/segment/{segment.pk}/change/").content.decode()
    assert "overall_median" not in text and "Whole shop (median)" in text
    assert re.search(r"<td>[\d,]+ days</td>", text)


def test_a_runs_own_options_are_labelled_not_json(admin_client, db):
    segmentation = Segmentation.objects.create(name="opts")
    run = SegmentationRun.objects.create(
        segmentation=segmentation, options={"n_clusters": 4, "algorithm": "agglomerative"})
    url = f"/admin/segmentation/segmentationrun/{run.pk}/change/"
    text = admin_client.get(url).content.decode()
    assert "<tr><th>number of segments</th><td>4</td></tr>" in text
    assert "<tr><th>algorithm</th><td>Hierarchical (agglomerative, on a sample)</td></tr>" in text
    assert '"n_clusters"' not in text and "agglomerative&quot;" not in text
    chinese = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<tr><th>分群数量</th><td>4</td></tr>" in chinese
    assert "0% 正在等待工作进程" in chinese  # the stage in words, as the review page says it
    plain = SegmentationRun.objects.create(segmentation=segmentation,
                                           options={"n_clusters": None})
    text = admin_client.get(f"/admin/segmentation/segmentationrun/{plain.pk}/change/")
    assert "<td>chosen automatically</td>" in text.content.decode()


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
