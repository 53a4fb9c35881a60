"""A shop where a third of the buyers have no birth date: every customer in exactly one segment.

The run clusters on age (imputed with the median), the rules say "or unknown"
where the median falls, and the database (the live ``Q``, the exported SQL)
selects exactly what Python does, ``NULL`` ages included.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest
from django.db import connection

from crm.models import Customer
from segmentation.features.compute import compute_features
from segmentation.models import (
    CustomerFeatures,
    RunStatus,
    Segmentation,
    SegmentationRun,
    SegmentMembership,
)
from segmentation.querying import members_queryset, rule_sql
from segmentation.rules import Clause, Condition, Rule, evaluate
from segmentation.services import execute_run

from .conftest import NOW, build_shop

pytestmark = pytest.mark.django_db

#: Birth years by group: age tells the groups apart as well as spending does.
BORN = {"loyal": 1998, "bargain": 1962, "lapsed": 1980}


@pytest.fixture
def shop_with_unknown_ages(db) -> dict[int, str]:
    groups = build_shop()
    rng = np.random.default_rng(5)
    unknown = {pk for pk in groups if rng.random() < 1 / 3}
    for group, year in BORN.items():
        known = [pk for pk, g in groups.items() if g == group and pk not in unknown]
        Customer.objects.filter(pk__in=known).update(birth_date=date(year, 6, 1))
    return groups


def sql_count(rule: Rule) -> int:
    sql, params = rule_sql(rule)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {CustomerFeatures._meta.db_table} WHERE {sql}",
                       params)
        return cursor.fetchone()[0]


def test_no_buyer_is_left_out_and_the_database_agrees(shop_with_unknown_ages):
    shop = shop_with_unknown_ages
    segmentation = Segmentation.objects.create(
        name="ages", n_clusters=3, features=["frequency", "total_spend", "age_years"])
    run = execute_run(run_id=SegmentationRun.objects.create(segmentation=segmentation).pk,
                      now=NOW)
    assert run.status == RunStatus.SUCCEEDED, run.error

    frame = compute_features(now=NOW, names=run.feature_names)
    unknown_age = frame["age_years"].isna()
    assert 0.25 < unknown_age.mean() < 0.45  # a third of the buyers
    assert run.metrics["unassigned"] == 0
    # every customer is a member of exactly one segment of the run
    per_customer = Counter(SegmentMembership.objects.filter(segment__run=run)
                           .values_list("customer_id", flat=True))
    assert set(per_customer) == set(shop) and set(per_customer.values()) == {1}

    segments = list(run.segments.order_by("index"))
    rules = [Rule.from_dict(s.rule) for s in segments]
    assert any(c.feature == "age_years" and c.or_unknown
               for r in rules for cl in r.clauses for c in cl.conditions)
    chosen = np.zeros(len(frame), dtype=int)
    for segment, rule in zip(segments, rules, strict=True):
        mask = evaluate(rule, frame)
        chosen += mask
        python = set(frame.index[mask])
        assert set(segment.members().values_list("pk", flat=True)) == python
        # the live segment (Q) and the exported SQL select the same customers
        assert set(members_queryset(rule).values_list("pk", flat=True)) == python
        assert sql_count(rule) == len(python) == segment.size
    assert (chosen == 1).all()
    # the customers without a birth date are spread by the rules, not dropped
    assert set(frame.index[unknown_age]) <= set(per_customer)


def test_postgresql_and_the_q_let_null_in_only_with_the_flag(db):
    """One condition, both ways, on the feature table's own column and a NULL."""
    customers = Customer.objects.bulk_create(Customer(email=f"n{i}@example.com") for i in range(3))
    if customers[0].pk is None:
        customers = list(Customer.objects.order_by("pk"))
    for customer, age in zip(customers, (25.0, None, 40.0), strict=True):
        CustomerFeatures.objects.create(customer=customer, computed_at=NOW, age_years=age)
    plain = Rule((Clause((Condition("age_years", "<=", 30),)),))
    flagged = Rule((Clause((Condition("age_years", "<=", 30, or_unknown=True),)),))
    ids = [c.pk for c in customers]
    assert set(members_queryset(plain).values_list("pk", flat=True)) == {ids[0]}
    assert set(members_queryset(flagged).values_list("pk", flat=True)) == {ids[0], ids[1]}
    assert (sql_count(plain), sql_count(flagged)) == (1, 2)
    assert "IS NULL" in rule_sql(flagged, inline=True)


def test_the_review_diagram_box_says_or_unknown_in_both_languages():
    from segmentation.features import registry
    from segmentation.review.selectors import condition_box

    catalog = registry.catalog()
    flagged = [Condition("age_years", "<=", 30, or_unknown=True)]
    assert condition_box("age_years", flagged, catalog, "en")["test"] == "≤ 30 years (or unknown)"
    assert condition_box("age_years", flagged, catalog, "zh-hans")["test"] == "≤ 30岁（或未知）"
    plain = [Condition("age_years", "<=", 30)]
    assert condition_box("age_years", plain, catalog, "en")["test"] == "≤ 30 years"


# --- the admin's rule builder ------------------------------------------------------------------


def builder_config(page: str) -> dict:
    import json

    return json.loads(page.split('-catalog" type="application/json">')[1].split("</script>")[0])


def test_the_builder_offers_or_unknown_in_both_languages(admin_client):
    page = admin_client.get("/admin/segmentation/segment/add/").content.decode()
    assert builder_config(page)["texts"]["or_unknown"] == "or unknown"
    chinese = admin_client.get("/admin/segmentation/segment/add/",
                               HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    texts = builder_config(chinese)["texts"]
    assert texts["or_unknown"] == "或未知" and "未知" in texts["or_unknown_help"]


def test_the_builder_preview_counts_unknown_values_with_the_flag(admin_client):
    import json

    customers = Customer.objects.bulk_create(Customer(email=f"b{i}@example.com") for i in range(3))
    if customers[0].pk is None:
        customers = list(Customer.objects.order_by("pk"))
    for customer, age in zip(customers, (25.0, None, 40.0), strict=True):
        CustomerFeatures.objects.create(customer=customer, computed_at=NOW, age_years=age)

    def preview(flag: bool, lang: str = "en") -> dict:
        condition = {"feature": "age_years", "op": "<=", "value": 30}
        if flag:
            condition["or_unknown"] = True
        rule = {"version": 1, "any": [{"all": [condition]}]}
        return admin_client.get("/admin/segmentation/segment/builder/preview/",
                                {"rule": json.dumps(rule)}, HTTP_ACCEPT_LANGUAGE=lang).json()

    flagged = preview(True)
    assert flagged["ok"] and flagged["count"] == 2
    assert flagged["sentence_en"] == "age at most 30 years (or unknown)"
    assert flagged["sentence_zh"] == "年龄不超过30岁（或未知）"
    assert flagged["rule"]["any"][0]["all"][0]["or_unknown"] is True
    plain = preview(False)
    assert plain["count"] == 1 and "or_unknown" not in plain["rule"]["any"][0]["all"][0]


def test_a_hand_written_segment_with_or_unknown_is_saved_and_live(admin_client):
    import json

    from segmentation.models import Segment

    customers = Customer.objects.bulk_create(Customer(email=f"h{i}@example.com") for i in range(3))
    if customers[0].pk is None:
        customers = list(Customer.objects.order_by("pk"))
    for customer, age in zip(customers, (25.0, None, 40.0), strict=True):
        CustomerFeatures.objects.create(customer=customer, computed_at=NOW, age_years=age)
    rule = {"version": 1, "any": [{"all": [
        {"feature": "age_years", "op": "<=", "value": 30, "or_unknown": True}]}]}
    response = admin_client.post("/admin/segmentation/segment/add/", {
        "name": "Young or unknown", "rule_format": "json", "rule_document": json.dumps(rule),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    segment = Segment.objects.get(name="Young or unknown")
    assert segment.rule == rule  # stored as written, the flag included
    assert set(segment.members().values_list("pk", flat=True)) == {customers[0].pk,
                                                                   customers[1].pk}
