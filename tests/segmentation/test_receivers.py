"""customers_changed: one refresh task per transaction, none for a rolled-back one."""

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
