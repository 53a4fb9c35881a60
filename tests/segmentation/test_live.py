"""Live membership, stable segments across runs, hand-written segments, exports."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from crm.models import Order
from segmentation.exports import export_run, export_segments
from segmentation.features.compute import compute_features
from segmentation.membership import refresh_customers
from segmentation.models import MembershipChange, Segment, Segmentation, SegmentationRun
from segmentation.rules import Rule, RuleError, evaluate
from segmentation.services import (
    execute_run,
    parse_rule_document,
    publish_run,
    save_manual_segment,
)

from .conftest import NOW

pytestmark = pytest.mark.django_db


def published_run(name="live"):
    run = SegmentationRun.objects.create(
        segmentation=Segmentation.objects.create(name=name, n_clusters=3)
    )
    run = execute_run(run_id=run.pk, now=NOW)
    assert run.status == "succeeded", run.error
    return publish_run(run=run)


def segment_of(customer_id):
    return set(
        Segment.objects.filter(memberships__customer_id=customer_id).values_list("pk", flat=True)
    )


def become_loyal(customer_id, now=NOW):
    for day in range(12):
        Order.objects.create(
            customer_id=customer_id,
            amount=Decimal("900"),
            placed_at=now - timedelta(days=day * 2 + 1),
        )


def test_a_matched_segment_keeps_its_old_name_only_while_the_name_holds(shop):
    """A name that states its run's bounds is not carried onto a different rule."""
    first = published_run("renamed")
    stale = {"version": 1, "any": [{"all": [{"feature": "frequency", "op": ">=", "value": 99}]}]}
    for segment in first.segments.all():
        segment.name, segment.name_zh = f"Orders at least 99 ({segment.index})", "订单数至少99"
        segment.rule = stale  # the old rule differs from what the rerun finds
        segment.save(update_fields=["name", "name_zh", "rule"])
    second = SegmentationRun.objects.create(segmentation=first.segmentation)
    second = execute_run(run_id=second.pk, now=NOW)
    assert len(second.metrics["stability"]["matched"]) == 3  # matched by members...
    names = [s.name for s in second.segments.all()]
    assert not any("99" in name for name in names), names  # ...but not renamed to a false bound


def test_a_new_order_moves_the_customer_and_records_it(shop):
    run = published_run()
    lapsed = next(pk for pk, group in shop.items() if group == "lapsed")
    before = segment_of(lapsed)
    become_loyal(lapsed)

    changes = refresh_customers(customer_ids=[lapsed], now=NOW)

    after = segment_of(lapsed)
    assert after != before and len(after) == 1
    features = compute_features(now=NOW, customer_ids=[lapsed])
    (segment,) = [s for s in run.segments.all() if evaluate(Rule.from_dict(s.rule), features)[0]]
    assert after == {segment.pk}
    assert {(c.direction, c.segment_id) for c in changes} == {
        ("left", next(iter(before))),
        ("entered", segment.pk),
    }
    assert MembershipChange.objects.filter(customer_id=lapsed).count() == 2


def test_saving_an_order_queues_the_refresh(shop, django_capture_on_commit_callbacks):
    published_run()
    lapsed = next(pk for pk, group in shop.items() if group == "lapsed")
    before = segment_of(lapsed)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        become_loyal(lapsed, now=timezone.now())  # the task refreshes as of now
    assert len(callbacks) == 1  # one refresh for the transaction, not one per order
    assert segment_of(lapsed) != before


def test_a_rerun_on_shifted_data_keeps_segment_ids_and_names(shop):
    first = published_run("stable")
    old = {s.pk: s.name for s in first.segments.all()}
    for pk in list(shop)[:15]:
        Order.objects.create(
            customer_id=pk, amount=Decimal("120"), placed_at=NOW - timedelta(days=3)
        )
    second = SegmentationRun.objects.create(segmentation=first.segmentation)
    second = execute_run(run_id=second.pk, now=NOW)
    stability = second.metrics["stability"]
    assert stability["previous_run"] == first.pk
    assert stability["adjusted_rand_index"] > 0.8
    assert len(stability["matched"]) == 3
    assert sum(sum(row.values()) for row in stability["movement"].values()) == len(shop)
    assert {s.name for s in second.segments.all()} == set(old.values())

    publish_run(run=second)
    carried = {s.pk: s.name for s in Segment.objects.filter(run=second)}
    assert carried == old  # same ids, same names, now the new run's segments
    first.refresh_from_db()
    assert not first.is_published and first.segments.count() == 0


def test_bad_rules_are_refused_with_the_place(db):
    with pytest.raises(RuleError, match="unknown feature 'spend'"):
        parse_rule_document(
            {"version": 1, "any": [{"all": [{"feature": "spend", "op": ">", "value": 5}]}]}
        )
    with pytest.raises(RuleError, match=r"any\[0\]\.all\[0\]"):
        parse_rule_document(
            {"version": 1, "any": [{"all": [{"feature": "frequency", "op": ">", "value": "many"}]}]}
        )
    with pytest.raises(RuleError):
        parse_rule_document({"and": [{">": [{"var": "frequency"}]}]}, "jsonlogic")
    with pytest.raises(RuleError):
        parse_rule_document("frequency > 3")


def test_a_hand_written_segment_selects_what_its_rule_says(shop):
    rule = parse_rule_document(
        {"and": [{">=": [{"var": "frequency"}, 10]}, {">": [{"var": "total_spend"}, 5000]}]},
        "jsonlogic",
    )
    compute = compute_features(now=NOW)
    from segmentation.features.store import refresh_feature_table

    refresh_feature_table(now=NOW)
    segment = save_manual_segment(name="Big loyal", rule=rule)
    expected = set(compute.index[evaluate(rule, compute)])
    assert expected and set(segment.members().values_list("pk", flat=True)) == expected
    assert segment.size == len(expected)
    assert Segment.objects.targetable().filter(pk=segment.pk).exists()


def test_exports_of_a_run_in_every_format(shop):
    run = published_run("exports")
    names = [s.name for s in run.segments.order_by("index")]
    text = export_run(run, "text").content
    assert all(name in text for name in names)
    zh = export_run(run, "text", lang="zh").content
    assert "天" in zh or "¥" in zh
    document = json.loads(export_run(run, "json").content)
    assert [s["name"] for s in document["segments"]] == names
    assert Rule.from_dict(document["segments"][0]["rule"]) == Rule.from_dict(
        run.segments.order_by("index")[0].rule
    )
    jsonlogic = json.loads(export_run(run, "jsonlogic").content)
    assert "and" in json.dumps(jsonlogic["segments"][0]["rule"]) or jsonlogic["segments"][0]["rule"]
    sql = export_segments([run.segments.order_by("index")[0]], "sql").content
    statement = sql.split("\n", 1)[1].rstrip().rstrip(";")
    with connection.cursor() as cursor:
        cursor.execute(statement)
        selected = {row[0] for row in cursor.fetchall()}
    first = run.segments.order_by("index")[0]
    assert selected == set(first.members().values_list("pk", flat=True))
