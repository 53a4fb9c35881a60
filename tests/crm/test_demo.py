from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from crm.demo import (
    GROUP_NAMES,
    GROUPS,
    DemoSeedError,
    default_now,
    generate_shop,
    seed_demo_shop,
)
from crm.models import Customer, Event, Order
from tests.factories import CustomerFactory

NOW = datetime(2025, 6, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = timedelta(days=1)


def crm_digest() -> str:
    """A digest of every crm value a seed decides (not ids or row creation times)."""
    customers = Customer.objects.order_by("external_id").values_list(
        "external_id", "email", "name", "gender", "birth_date", "city", "country",
        "signed_up_at", "consent_status", "consent_source", "consent_at", "unsubscribed_at",
        "attributes",
    )
    orders = Order.objects.values_list(
        "customer__external_id", "placed_at", "amount", "currency", "item_count", "category",
        "channel", "status",
    )
    events = Event.objects.values_list(
        "customer__external_id", "event_type", "occurred_at", "properties"
    )
    digest = hashlib.sha256()
    for rows in (list(customers), sorted(map(repr, orders)), sorted(map(repr, events))):
        digest.update(repr(rows).encode())
    return digest.hexdigest()


def behaviour_frame(now: datetime) -> pd.DataFrame:
    """Per customer: hidden group and the behaviour features segmentation works from."""
    customers = pd.DataFrame.from_records(
        Customer.objects.values_list("id", "attributes", "signed_up_at"),
        columns=["id", "attributes", "signed_up_at"], index="id",
    )
    orders = pd.DataFrame.from_records(
        Order.objects.completed().values_list("customer_id", "placed_at", "amount", "category"),
        columns=["customer", "placed_at", "amount", "category"],
    )
    sessions = pd.Series(
        Event.objects.filter(event_type="session", occurred_at__gte=now - 30 * DAY)
        .values_list("customer_id", flat=True),
        dtype="int64",
    )
    orders["amount"] = orders["amount"].astype(float)
    per = orders.groupby("customer")
    frame = pd.DataFrame(index=customers.index)
    frame["group"] = customers["attributes"].map(lambda a: a["demo_group"])
    frame["tenure_days"] = (now - customers["signed_up_at"]).map(lambda d: d / DAY)
    frame["recency_days"] = (now - per["placed_at"].max()).map(lambda d: d / DAY)
    frame["recency_days"] = frame["recency_days"].fillna(frame["tenure_days"])
    frame["orders"] = per.size().reindex(frame.index, fill_value=0)
    recent = orders[orders["placed_at"] >= now - 90 * DAY].groupby("customer").size()
    frame["orders_90d"] = recent.reindex(frame.index, fill_value=0)
    frame["total_spend"] = per["amount"].sum().reindex(frame.index, fill_value=0.0)
    frame["aov"] = (frame["total_spend"] / frame["orders"].replace(0, np.nan)).fillna(0.0)
    by_category = orders.groupby(["customer", "category"])["amount"].sum()
    top = by_category.groupby("customer").max() / per["amount"].sum()
    frame["top_category_share"] = top.reindex(frame.index).fillna(0.0)
    frame["sessions_30d"] = sessions.value_counts().reindex(frame.index, fill_value=0)
    return frame


@pytest.fixture(scope="module")
def shop(django_db_setup, django_db_blocker):
    """2,000 demo customers' behaviour, seeded once in a transaction that is rolled back."""
    with django_db_blocker.unblock(), transaction.atomic():
        summary = seed_demo_shop(customers=2000, seed=11, now=NOW, flush=True)
        frame = behaviour_frame(NOW)
        transaction.set_rollback(True)
    return summary, frame


# --- the generator, without the database --------------------------------------------------


def test_profiles_are_consistent():
    assert sum(group.share for group in GROUPS) == pytest.approx(1.0)
    assert len(set(GROUP_NAMES)) == len(GROUPS)
    for group in GROUPS:
        assert group.recency_days[0] <= group.tenure_days[0], group.name


def test_generator_is_deterministic():
    first = generate_shop(customers=300, seed=5, now=NOW)
    second = generate_shop(customers=300, seed=5, now=NOW)
    other = generate_shop(customers=300, seed=6, now=NOW)
    for name in ("customers", "orders", "events"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert not first.orders.equals(other.orders)


def test_generator_needs_an_aware_now_and_customers():
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_shop(customers=10, seed=1, now=datetime(2025, 6, 30))
    with pytest.raises(ValueError, match="at least 1"):
        generate_shop(customers=0, seed=1, now=NOW)


# --- seeding ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_writes_identical_rows_and_another_seed_differs():
    first = seed_demo_shop(customers=500, seed=7, now=NOW, flush=True)
    digest = crm_digest()
    second = seed_demo_shop(customers=500, seed=7, now=NOW, flush=True)
    assert crm_digest() == digest
    assert (second.orders, second.events, second.revenue) == (
        first.orders, first.events, first.revenue
    )
    seed_demo_shop(customers=500, seed=8, now=NOW, flush=True)
    assert crm_digest() != digest


@pytest.mark.django_db
def test_summary_matches_the_database():
    summary = seed_demo_shop(customers=300, seed=3, now=NOW)
    assert Customer.objects.count() == summary.customers == 300
    assert Order.objects.count() == summary.orders
    assert Event.objects.count() == summary.events
    revenue = sum(Order.objects.completed().values_list("amount", flat=True))
    assert revenue == summary.revenue
    assert summary.orders - Order.objects.completed().count() == summary.cancelled_or_refunded
    assert sum(g.customers for g in summary.groups.values()) == 300
    assert sum(g.revenue for g in summary.groups.values()) == summary.revenue
    text = "\n".join(summary.lines())
    assert "customers" in text and all(name in text for name in GROUP_NAMES)


@pytest.mark.django_db
def test_seeding_again_without_flush_fails_and_writes_nothing():
    seed_demo_shop(customers=50, seed=1, now=NOW)
    before = (Customer.objects.count(), Order.objects.count(), Event.objects.count())
    with pytest.raises(DemoSeedError, match="flush"):
        seed_demo_shop(customers=60, seed=2, now=NOW)
    assert (Customer.objects.count(), Order.objects.count(), Event.objects.count()) == before


@pytest.mark.django_db
def test_flush_replaces_existing_customers():
    CustomerFactory.create_batch(3)
    seed_demo_shop(customers=40, seed=1, now=NOW, flush=True)
    assert Customer.objects.count() == 40
    assert not Customer.objects.exclude(external_id__startswith="demo-").exists()


@pytest.mark.django_db
def test_default_now_is_midnight_today_and_everything_is_before_it():
    summary = seed_demo_shop(customers=30, seed=1)
    local = timezone.localtime(summary.now)
    assert summary.now == default_now()
    assert (local.date(), local.hour, local.minute) == (timezone.localdate(), 0, 0)
    assert not Order.objects.filter(placed_at__gte=summary.now).exists()
    assert not Event.objects.filter(occurred_at__gte=summary.now).exists()


@pytest.mark.django_db
def test_naive_now_is_read_in_the_current_time_zone():
    summary = seed_demo_shop(customers=5, seed=1, now=datetime(2025, 6, 30))
    assert summary.now == NOW


# --- what the demo shop looks like --------------------------------------------------------


@pytest.mark.django_db
def test_customers_look_real():
    seed_demo_shop(customers=1000, seed=4, now=NOW)
    customers = list(Customer.objects.all())
    ages = [c.birth_date for c in customers]
    assert min(ages) >= NOW.date().replace(year=NOW.year - 76)
    assert max(ages) <= NOW.date().replace(year=NOW.year - 18)
    assert {c.email for c in customers} == {f"user{n}@example.com" for n in range(1, 1001)}
    countries = Counter(c.country for c in customers)
    assert countries["CN"] > 850 and len(countries) > 3
    assert {"上海", "北京", "深圳"} <= {c.city for c in customers}
    assert {c.gender for c in customers} >= {"female", "male"}
    assert any(ord(c.name[0]) > 0x4E00 for c in customers)  # Chinese names
    assert any(" " in c.name for c in customers)  # Western names
    assert Customer.objects.contactable().count() > 800
    unsubscribed = Customer.objects.filter(unsubscribed_at__isnull=False)
    assert 5 <= unsubscribed.count() <= 80
    assert not unsubscribed.filter(consent_status="granted").exists()
    assert all(c.signed_up_at < NOW for c in customers)


@pytest.mark.django_db
def test_orders_and_events_follow_signup_and_precede_now():
    seed_demo_shop(customers=400, seed=9, now=NOW)
    for model, field in ((Order, "placed_at"), (Event, "occurred_at")):
        rows = model.objects.values_list(field, "customer__signed_up_at")
        assert all(signup <= moment < NOW for moment, signup in rows)
    statuses = Counter(Order.objects.values_list("status", flat=True))
    cancelled = statuses["cancelled"] / sum(statuses.values())
    assert 0.01 < cancelled < 0.06
    assert set(Order.objects.values_list("category", flat=True)) == {
        "电子产品", "服装", "家居", "美妆", "食品"
    }
    assert set(Order.objects.values_list("channel", flat=True)) == {"web", "app", "store", "wechat"}
    assert set(Event.objects.values_list("event_type", flat=True)) == {
        "session", "page_view", "cart_add"
    }
    assert not Event.objects.filter(occurred_at__lt=NOW - 91 * DAY).exists()


def test_group_shares(shop):
    summary, frame = shop
    expected = {group.name: group.share for group in GROUPS}
    shares = frame["group"].value_counts(normalize=True)
    for name, share in expected.items():
        assert shares[name] == pytest.approx(share, abs=0.01)
        assert summary.groups[name].customers == (frame["group"] == name).sum()


@pytest.mark.django_db
def test_group_is_queryable_from_attributes():
    seed_demo_shop(customers=200, seed=2, now=NOW)
    counts = dict(
        Customer.objects.values_list("attributes__demo_group").annotate(n=Count("id"))
    )
    assert counts == {"loyal_high_spenders": 30, "bargain_hunters": 50,
                      "lapsed_customers": 50, "new_customers": 30, "browsers": 40}


def test_groups_differ_as_designed(shop):
    _, frame = shop
    by = frame.groupby("group")
    median, low, high = by.median(), by.min(), by.max()
    loyal, bargain = median.loc["loyal_high_spenders"], median.loc["bargain_hunters"]
    # Loyal high spenders: recent, many orders, the highest order values and spend.
    assert loyal.recency_days <= 30 and loyal.orders >= 10 and loyal.orders_90d >= 2
    assert loyal.aov >= 5 * bargain.aov
    assert median.total_spend.idxmax() == "loyal_high_spenders"
    # Bargain hunters: frequent small orders, mostly in one category.
    assert bargain.recency_days <= 30 and bargain.orders_90d > loyal.orders_90d
    assert bargain.aov < 150 and bargain.top_category_share >= 0.8
    # Lapsed: bought before, nothing for more than 180 days.
    assert low.loc["lapsed_customers"].recency_days > 180
    assert low.loc["lapsed_customers"].orders >= 1
    assert high.loc["lapsed_customers"].orders_90d == 0
    # New: signed up in the last 60 days, one or two orders.
    assert high.loc["new_customers"].tenure_days < 60
    assert set(frame.loc[frame.group == "new_customers", "orders"]) <= {0, 1, 2}
    # Browsers: at least 8 sessions in 30 days, at most one order.
    assert low.loc["browsers"].sessions_30d >= 8 and high.loc["browsers"].orders <= 1
    assert median.sessions_30d.idxmax() == "browsers"
    # Outside the browsers, a few recent sessions at most for the lapsed.
    assert median.loc["lapsed_customers"].sessions_30d == 0


def test_plain_rules_recover_the_groups(shop):
    _, f = shop
    rule = np.select(
        [f.tenure_days < 60, f.orders <= 1, f.recency_days > 180, f.aov >= 400],
        ["new_customers", "browsers", "lapsed_customers", "loyal_high_spenders"],
        default="bargain_hunters",
    )
    assert (rule == f.group).mean() > 0.98


def test_kmeans_on_log_features_recovers_the_groups(shop):
    """The segmentation acceptance test needs ARI >= 0.8; the data leaves room for that."""
    _, f = shop
    skewed = ["tenure_days", "recency_days", "orders", "orders_90d", "total_spend", "aov",
              "sessions_30d"]
    x = f.drop(columns="group")
    x[skewed] = np.log1p(x[skewed])
    labels = KMeans(5, n_init=10, random_state=0).fit_predict(StandardScaler().fit_transform(x))
    assert adjusted_rand_score(f["group"], labels) >= 0.9


# --- the command --------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_seeds_and_prints_a_summary():
    out = StringIO()
    call_command(
        "seed_demo", "--customers", "120", "--seed", "3", "--now", "2025-06-30", "--flush",
        stdout=out,
    )
    text = out.getvalue()
    assert Customer.objects.count() == 120
    assert "customers" in text and "120" in text and "revenue" in text
    assert all(name in text for name in GROUP_NAMES)
    assert "2025-06-30 00:00" in text


@pytest.mark.django_db
def test_command_is_deterministic_and_matches_the_service():
    call_command("seed_demo", "--customers", "80", "--seed", "5", "--now", "2025-06-30",
                 stdout=StringIO())
    from_command = crm_digest()
    seed_demo_shop(customers=80, seed=5, now=NOW, flush=True)
    assert crm_digest() == from_command


@pytest.mark.django_db
def test_command_reports_clashes_and_bad_arguments():
    call_command("seed_demo", "--customers", "10", "--now", "2025-06-30", stdout=StringIO())
    with pytest.raises(CommandError, match="flush"):
        call_command("seed_demo", "--customers", "10", stdout=StringIO())
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--customers", "0", stdout=StringIO())
    with pytest.raises(CommandError, match="ISO"):
        call_command("seed_demo", "--now", "30/06/2025", stdout=StringIO())


@pytest.mark.django_db
def test_command_accepts_a_date_time_with_offset():
    out = StringIO()
    call_command("seed_demo", "--customers", "5", "--now", "2025-06-30T12:00:00+00:00",
                 stdout=out)
    assert "2025-06-30 20:00" in out.getvalue()  # shown in Asia/Shanghai
    assert not Order.objects.filter(placed_at__gte=datetime(2025, 6, 30, 12, tzinfo=UTC)).exists()
