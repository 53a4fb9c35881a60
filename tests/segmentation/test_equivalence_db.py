"""In the database, the SQL, the ``Q`` and ``members_queryset`` select what Python selects.

Each example writes one random feature table into CustomerFeatures (real
Customer rows; a few customers get no feature row at all; host features in
``extra`` as JSON, missing as null or as an absent key) inside a savepoint,
then compares ``evaluate`` with ``SELECT customer_id FROM
segmentation_customerfeatures WHERE <sql>`` (parameterised and inline), with
``CustomerFeatures.objects.filter(rule_to_q(rule))``, with
``members_queryset(rule)`` and with a JsonLogic library. Runs on the test
database: SQLite by default, PostgreSQL with ``DATABASE_URL`` (as in CI).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_logic import jsonLogic

from crm.models import Customer
from segmentation.models import CustomerFeatures
from segmentation.querying import feature_columns, members_queryset, rule_sql, rule_to_q
from segmentation.rules import Clause, Condition, Rule, evaluate, render_sql, render_sql_inline
from segmentation.rules import to_jsonlogic as jsonlogic_of
from tests.segmentation.test_equivalence import (
    COLUMNS,
    REGISTRY,
    frame_of,
    logic_data,
    rules_for,
    tables,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CUSTOMERS = 14  # more than the largest table: some customers have no feature row


@pytest.fixture
def customer_ids(db) -> list[int]:
    Customer.objects.bulk_create(Customer(email=f"eq{i}@example.com") for i in range(CUSTOMERS))
    return list(Customer.objects.order_by("pk").values_list("pk", flat=True))


def write_table(rows: list[dict], ids: list[int]) -> None:
    CustomerFeatures.objects.bulk_create(
        CustomerFeatures(
            customer_id=customer_id,
            computed_at=NOW,
            **{c: row[c] for c in COLUMNS},
            extra={f: row[f] for f in ("score", "channel") if f not in row["_absent"]},
        )
        for customer_id, row in zip(ids, rows, strict=False)
    )


def sql_select(rule: Rule) -> tuple[set, set]:
    columns = feature_columns(connection, features=REGISTRY)
    sql, params = render_sql(rule, columns, connection.vendor, placeholder="%s")
    inline = render_sql_inline(rule, columns, connection.vendor)
    query = f"SELECT customer_id FROM {CustomerFeatures._meta.db_table} WHERE "
    with connection.cursor() as cursor:
        cursor.execute(query + sql, params)
        by_params = {i for (i,) in cursor.fetchall()}
        cursor.execute(query + inline)  # no params: '%' in a literal stays as written
        by_literals = {i for (i,) in cursor.fetchall()}
    return by_params, by_literals


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_sql_q_jsonlogic_and_python_select_the_same_customers(customer_ids, data):
    rows = data.draw(tables(max_rows=CUSTOMERS - 2))
    rule = data.draw(rules_for(rows))
    ids = customer_ids[: len(rows)]
    frame = frame_of(rows, ids)
    expected = {int(i) for i in frame.index[evaluate(rule, frame)]}
    logic = jsonlogic_of(rule)
    with transaction.atomic():
        write_table(rows, ids)
        assert sql_select(rule) == (expected, expected)
        q = rule_to_q(rule, REGISTRY)
        assert set(CustomerFeatures.objects.filter(q).values_list("customer_id", flat=True)) == (
            expected
        )
        assert set(members_queryset(rule, REGISTRY).values_list("pk", flat=True)) == expected
        assert {
            i for i, r in zip(ids, rows, strict=True) if jsonLogic(logic, logic_data(r))
        } == expected
        transaction.set_rollback(True)


def test_rule_sql_uses_the_connection_dialect(customer_ids):
    rows = [
        {
            "recency_days": 5.0,
            "orders_90d": 3.0,
            "total_spend": 1200.0,
            "score": 0.5,
            "channel": "O'Brien",
            "_absent": set(),
        },
        {
            "recency_days": None,
            "orders_90d": 1.0,
            "total_spend": 80.0,
            "score": None,
            "channel": None,
            "_absent": {"channel"},
        },
    ]
    write_table(rows, customer_ids)
    rule = Rule(
        (
            Clause(
                (Condition("orders_90d", ">=", 3), Condition("channel", "in", ("O'Brien", "x")))
            ),
            Clause((Condition("score", "!=", 0.5),)),
        )
    )
    sql, params = rule_sql(rule, features=REGISTRY)
    inline = rule_sql(rule, inline=True, features=REGISTRY)
    assert "'O''Brien'" in inline and params == [3, "O'Brien", "x", 0.5]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id FROM segmentation_customerfeatures WHERE {sql}", params)
        assert [i for (i,) in cursor.fetchall()] == [customer_ids[0]]


def test_postgresql_reads_extra_json_null_as_sql_null(postgres, customer_ids):
    """PostgreSQL (required under CI): ``->>`` gives NULL for null and absent keys, typed."""
    rows = [
        {
            "recency_days": 1.0,
            "orders_90d": 1.0,
            "total_spend": 1.0,
            "score": 2.5,
            "channel": "web",
            "_absent": set(),
        },
        {
            "recency_days": 1.0,
            "orders_90d": 1.0,
            "total_spend": 1.0,
            "score": None,
            "channel": None,
            "_absent": set(),
        },
        {
            "recency_days": 1.0,
            "orders_90d": 1.0,
            "total_spend": 1.0,
            "score": None,
            "channel": None,
            "_absent": {"score", "channel"},
        },
    ]
    write_table(rows, customer_ids)
    columns = feature_columns(connection, features=REGISTRY)
    assert columns["score"].endswith("::double precision")
    assert "->>" in columns["channel"] and "double" not in columns["channel"]
    for cond in (
        Condition("score", "!=", 1),
        Condition("score", "<", 10),
        Condition("channel", "!=", "app"),
    ):
        rule = Rule((Clause((cond,)),))
        assert sql_select(rule) == ({customer_ids[0]}, {customer_ids[0]})
        assert list(
            CustomerFeatures.objects.filter(rule_to_q(rule, REGISTRY)).values_list(
                "customer_id", flat=True
            )
        ) == [customer_ids[0]]
    data = [json.loads(json.dumps(logic_data(r))) for r in rows]
    assert [
        bool(jsonLogic(jsonlogic_of(Rule((Clause((Condition("score", "<", 10),)),))), d))
        for d in data
    ] == [True, False, False]
