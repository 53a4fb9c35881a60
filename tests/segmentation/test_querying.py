"""The Django side of rules: Q over the feature table, members, SQL columns."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Q

from crm.models import Customer
from segmentation.models import CustomerFeatures
from segmentation.querying import feature_columns, members_queryset, rule_sql, rule_to_q
from segmentation.rules import Clause, Condition, Rule, RuleError, export_rule
from tests.segmentation.test_equivalence import REGISTRY

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def clause(*conds):
    return Clause(tuple(Condition(*c) for c in conds))


@pytest.fixture
def table(db):
    """Four customers: three feature rows (one all missing) and one without a row."""
    people = Customer.objects.bulk_create(Customer(email=f"q{i}@example.com") for i in range(4))
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    CustomerFeatures.objects.bulk_create(
        [
            CustomerFeatures(
                customer_id=ids[0],
                computed_at=NOW,
                orders_90d=3,
                total_spend=1500,
                extra={"score": 0.5, "channel": "web"},
            ),
            CustomerFeatures(
                customer_id=ids[1],
                computed_at=NOW,
                orders_90d=1,
                total_spend=80,
                extra={"score": None, "channel": "app"},
            ),
            CustomerFeatures(customer_id=ids[2], computed_at=NOW, extra={}),
        ]
    )
    assert len(people) == 4
    return ids


def selected(rule):
    return sorted(
        CustomerFeatures.objects.filter(rule_to_q(rule, REGISTRY)).values_list(
            "customer_id", flat=True
        )
    )


def test_not_equal_never_selects_missing(table):
    a, b, c, _ = table
    assert selected(Rule((clause(("orders_90d", "!=", 1)),))) == [a]
    assert selected(Rule((clause(("score", "!=", 1)),))) == [a]
    assert selected(Rule((clause(("channel", "!=", "web")),))) == [b]
    assert selected(Rule((clause(("score", "<", 1)),))) == [a]


def test_brief_rule_and_members(table):
    a, b, c, d = table
    rule = Rule(
        (
            clause(("orders_90d", ">=", 3), ("total_spend", ">", 1200)),
            clause(
                ("channel", "in", ("app", "store")),
            ),
        )
    )
    assert selected(rule) == [a, b]
    assert list(members_queryset(rule, REGISTRY).values_list("pk", flat=True)) == [a, b]
    assert list(members_queryset(rule.to_dict(), REGISTRY)) == list(
        Customer.objects.filter(pk__in=[a, b])
    )
    # everyone means every customer with a feature row; nobody means nobody
    assert list(members_queryset(Rule.everyone(), REGISTRY).values_list("pk", flat=True)) == [
        a,
        b,
        c,
    ]
    assert not members_queryset(Rule.nobody(), REGISTRY).exists()
    assert d not in members_queryset(Rule((clause(("score", "<=", 10)), Clause(()))), REGISTRY)


def test_q_is_a_q_and_registered_as_a_format(table):
    rule = Rule((clause(("total_spend", ">", 1200)),))
    assert rule_to_q(rule, REGISTRY) == Q(total_spend__gt=1200)
    assert export_rule(rule, "q") == Q(total_spend__gt=1200)  # the default registry
    assert rule_to_q(Rule.everyone(), REGISTRY) == Q()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Rule((clause(("nope", ">", 1)),)), "any[0].all[0].feature: unknown feature 'nope'"),
        (Rule((clause(("channel", ">", 1)),)), "any[0].all[0].op: 'channel' is categorical"),
        (
            {"version": 1, "any": [{"all": [{"feature": "score", "op": "==", "value": "x"}]}]},
            "any[0].all[0].value: 'score' is numeric",
        ),
    ],
)
def test_invalid_rules_raise_rule_errors(rule, message):
    with pytest.raises(RuleError) as info:
        rule_to_q(rule, REGISTRY)
    assert str(info.value).startswith(message)


def test_feature_columns_are_quoted_and_whitelisted():
    sqlite = feature_columns(vendor="sqlite", features=REGISTRY)
    postgres = feature_columns(vendor="postgresql", features=REGISTRY)
    assert (
        sqlite["total_spend"]
        == postgres["total_spend"]
        == ('"segmentation_customerfeatures"."total_spend"')
    )
    assert sqlite["score"] == 'json_extract("segmentation_customerfeatures"."extra", \'$.score\')'
    assert postgres["score"] == (
        '("segmentation_customerfeatures"."extra" ->> \'score\')::double precision'
    )
    assert postgres["channel"] == '("segmentation_customerfeatures"."extra" ->> \'channel\')'
    assert set(sqlite) == set(REGISTRY.names())
    with pytest.raises(RuleError, match="no SQL for database vendor 'oracle'"):
        feature_columns(vendor="oracle", features=REGISTRY)


def test_rule_sql_runs(table):
    a, *_ = table
    rule = Rule((clause(("orders_90d", ">=", 3), ("channel", "==", "web")),))
    sql, params = rule_sql(rule, features=REGISTRY)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id FROM segmentation_customerfeatures WHERE {sql}", params)
        assert cursor.fetchall() == [(a,)]
        cursor.execute(
            "SELECT customer_id FROM segmentation_customerfeatures WHERE "
            + rule_sql(rule, inline=True, features=REGISTRY)
        )
        assert cursor.fetchall() == [(a,)]
