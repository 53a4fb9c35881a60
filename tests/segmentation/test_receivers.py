"""customers_changed: one refresh task per transaction, none for a rolled-back one;
one refresh of everyone when a transaction changed most of the shop."""

import io
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from crm.models import Customer, Order
from crm.signals import customers_changed
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    sent: list[list[int]] = []
    monkeypatch.setattr("segmentation.tasks.refresh_customers.delay", sent.append)
    return sent


def test_many_saves_in_one_transaction_queue_one_task(queued):
    with transaction.atomic():
        first, second = CustomerFactory(), CustomerFactory()
        for customer in (first, second, first):
            Order.objects.create(customer=customer, amount=Decimal("10"),
                                 placed_at=timezone.now())
        assert queued == []  # nothing before the commit
    assert queued == [sorted([first.pk, second.pk])]


def test_a_rolled_back_transaction_queues_nothing(queued):
    with pytest.raises(RuntimeError), transaction.atomic():
        CustomerFactory()
        raise RuntimeError
    assert queued == []
    with transaction.atomic():
        kept = CustomerFactory()
    assert queued == [[kept.pk]]


def test_a_rolled_back_savepoint_keeps_the_outer_changes(queued):
    with transaction.atomic():
        outer = CustomerFactory()
        with pytest.raises(RuntimeError), transaction.atomic():
            CustomerFactory()
            raise RuntimeError
        later = CustomerFactory()
    assert queued == [sorted([outer.pk, later.pk])]


def test_outside_a_transaction_the_task_is_queued_at_once(queued):
    customer = CustomerFactory()
    assert queued == [[customer.pk]]
    customers_changed.send(sender=Customer, customer_ids={customer.pk, None})
    assert queued[-1] == [customer.pk]


def test_a_deleted_order_refreshes_its_customer(queued):
    order = Order.objects.create(customer=CustomerFactory(), amount=Decimal("10"),
                                 placed_at=timezone.now())
    queued.clear()
    order.delete()
    assert queued == [[order.customer_id]]


@pytest.fixture
def queued_everyone(monkeypatch):
    sent: list[tuple] = []
    monkeypatch.setattr("segmentation.tasks.refresh_all_live_segments.delay",
                        lambda *args: sent.append(args))
    return sent


def import_new_customers(count: int):
    from crm.importing import import_csv

    lines = ["external_id,email"] + [f"N{i},n{i}@example.com" for i in range(count)]
    report = import_csv(source=io.BytesIO("\n".join(lines).encode()), kind="customers")
    assert report.customers.created == count


def test_an_import_of_most_of_the_shop_queues_one_refresh_of_everyone(
        queued, queued_everyone, monkeypatch):
    # Ten ids a task, so that a few dozen customers stand for a large import.
    monkeypatch.setattr("segmentation.receivers.REFRESH_CHUNK", 10)
    Customer.objects.bulk_create(Customer(external_id=f"OLD{i}") for i in range(100))
    import_new_customers(12)  # 12 of 112: past a tenth of the shop
    assert queued_everyone == [()] and queued == []


def test_an_import_of_a_small_part_of_the_shop_refreshes_its_customers(
        queued, queued_everyone, monkeypatch):
    monkeypatch.setattr("segmentation.receivers.REFRESH_CHUNK", 10)
    Customer.objects.bulk_create(Customer(external_id=f"OLD{i}") for i in range(200))
    import_new_customers(15)  # 15 of 215: under a tenth
    assert queued_everyone == []
    assert sorted(map(len, queued)) == [5, 10]
    assert Customer.objects.filter(pk__in=[pk for chunk in queued for pk in chunk],
                                   external_id__startswith="N").count() == 15


def test_live_membership_off_queues_nothing(queued, settings):
    settings.RULECAST_SEGMENTATION = {"LIVE_MEMBERSHIP": False}
    CustomerFactory()
    assert queued == []


def test_crm_never_imports_segmentation():
    from pathlib import Path

    import crm

    root = Path(crm.__file__).parent
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if "import segmentation" in path.read_text()
                 or "from segmentation" in path.read_text()]
    assert offenders == []
