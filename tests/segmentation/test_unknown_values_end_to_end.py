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
