"""The crm admin: changelists, the customer page, the CSV import page and exports."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from crm.models import ColumnMapping, Customer, Event, Order

pytestmark = pytest.mark.django_db
PLACED = datetime(2024, 3, 20, 14, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def shop():
    ann = Customer.objects.create(external_id="C1", email="ann@example.com", name="Ann",
                                  country="CN", gender="female")
    Customer.objects.create(external_id="C2", email="bob@example.com", name="=Bob",
                            country="GB", gender="male")
    for i in range(25):
        Order.objects.create(customer=ann, external_id=f"O{i}", amount=Decimal(i),
                             placed_at=PLACED.replace(day=1 + i))
    Event.objects.create(customer=ann, event_type="page_view", occurred_at=PLACED)
    return ann


def content(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


@pytest.mark.parametrize("model", ["customer", "order", "event", "columnmapping"])
def test_changelists_render(admin_client, shop, model):
    response = admin_client.get(reverse(f"admin:crm_{model}_changelist"))
    assert response.status_code == 200


def test_customer_changelist_has_import_and_export_buttons_and_filters(admin_client, shop):
    response = admin_client.get(reverse("admin:crm_customer_changelist"), {"q": "ann"})
    html = response.content.decode()
    assert reverse("admin:crm_customer_import") in html
    assert reverse("admin:crm_customer_export") + "?q=ann" in html
    assert list(response.context["cl"].result_list) == [shop]
    titles = {str(spec.title) for spec in response.context["cl"].filter_specs}
    assert titles >= {"country", "gender", "email consent", "signed up"}
    response = admin_client.get(reverse("admin:crm_order_changelist"))
    assert reverse("admin:crm_order_import") in response.content.decode()


def test_customer_page_shows_recent_orders_and_events(admin_client, shop):
    response = admin_client.get(reverse("admin:crm_customer_change", args=[shop.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    orders, events = (inline.formset for inline in response.context["inline_admin_formsets"])
    shown = [order.external_id for order in orders.get_queryset()]
    assert shown == [f"O{i}" for i in range(24, 4, -1)]  # the 20 most recent, newest first
    assert [event.event_type for event in events.get_queryset()] == ["page_view"]
    assert ">O24<" in html
    assert f"?customer__id__exact={shop.pk}" in html
    # Saving the customer leaves the read-only orders alone.
    data = {
        "external_id": "C1", "email": "ann@example.com", "name": "Ann Li", "gender": "female",
        "consent_status": "unknown", "attributes": "{}", "country": "CN",
        "orders-TOTAL_FORMS": "20", "orders-INITIAL_FORMS": "20",
        "events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1",
    }
    response = admin_client.post(reverse("admin:crm_customer_change", args=[shop.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Customer.objects.get(pk=shop.pk).name == "Ann Li"
    assert shop.orders.count() == 25


# The import pages are tested in test_import_admin.py.


def test_import_needs_add_and_change_permission(client, shop):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(user)
    response = client.get(reverse("admin:crm_customer_changelist"))
    assert reverse("admin:crm_customer_import") not in response.content.decode()
    assert client.get(reverse("admin:crm_customer_import")).status_code == 403
    assert client.get(reverse("admin:crm_customer_export")).status_code == 200


def test_export_all_follows_the_changelist_filters(admin_client, shop):
    response = admin_client.get(reverse("admin:crm_customer_export"), {"country": "GB"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbf")  # a BOM for Excel
    response = admin_client.get(reverse("admin:crm_customer_export"), {"country": "GB"})
    rows = list(csv.reader(io.StringIO(content(response))))
    assert [row[:3] for row in rows[1:]] == [["C2", "bob@example.com", "'=Bob"]]


def test_export_selected_action(admin_client, shop):
    orders = Order.objects.filter(external_id__in=["O1", "O2"])
    response = admin_client.post(reverse("admin:crm_order_changelist"), {
        "action": "export_selected_csv",
        "_selected_action": [str(pk) for pk in orders.values_list("pk", flat=True)],
    })
    rows = list(csv.reader(io.StringIO(content(response))))
    assert rows[0][:3] == ["external_id", "customer_external_id", "customer_email"]
    assert sorted(row[0] for row in rows[1:]) == ["O1", "O2"]


def test_column_mapping_admin_shows_the_choices_for_people(admin_client):
    """Saved choices come from the import page; here they are read, never typed as JSON."""
    saved = ColumnMapping.objects.create(
        name="Shop", kind="orders",
        columns={"placed_at": "Order Date", "attributes.coupon": "Coupon"})
    assert admin_client.get(reverse("admin:crm_columnmapping_add")).status_code == 403
    html = admin_client.get(
        reverse("admin:crm_columnmapping_change", args=[saved.pk])).content.decode()
    assert "Order Date → Order date" in html
    assert "Coupon → Extra information “coupon”" in html
    assert "<textarea" not in html
