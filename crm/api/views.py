"""Customers, orders and events: CRUD, and bulk upsert for feeding Rulecast from a shop."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import filters, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import Customer, Event, Order
from ..privacy.api import CustomerPrivacyMixin
from . import bulk
from .base import RulecastViewMixin
from .serializers import (
    BULK_MAX_ITEMS,
    BulkCustomersSerializer,
    BulkEventsSerializer,
    BulkOrdersSerializer,
    BulkResultSerializer,
    CustomerSerializer,
    EventSerializer,
    OrderSerializer,
)

BULK_DESCRIPTION = (
    f"Up to {BULK_MAX_ITEMS} items, all stored or none: if any item is invalid the answer "
    'is a 400 naming each bad item by its index, e.g. `{"items": {"3": {"email": ["..."]}}}`, '
    "and nothing is written. Fields an item leaves out keep their stored values; "
    "`attributes` are merged into the stored ones. Posting the same items again changes "
    "nothing (`unchanged`). Needs the add and change permissions."
)


class SearchFilter(filters.SearchFilter):
    """``?search=`` over the view's ``search_fields``; NUL characters are a 400."""

    def get_search_terms(self, request):
        if "\x00" in request.query_params.get(self.search_param, ""):
            raise serializers.ValidationError(
                {self.search_param: ["Text may not contain NUL characters."]}
            )
        return super().get_search_terms(request)


class CustomerFilter(filters.BaseFilterBackend):
    """``?customer=<id>``: one customer's orders or events."""

    def filter_queryset(self, request, queryset, view):
        raw = request.query_params.get("customer")
        if raw is None:
            return queryset
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 2**63 - 1:
            raise serializers.ValidationError({"customer": ["A customer id (a whole number)."]})
        return queryset.filter(customer_id=int(raw))

    def get_schema_operation_parameters(self, view):
        return [{
            "name": "customer", "in": "query", "required": False,
            "description": "Only this customer's records.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        }]


class BulkMixin:
    """``POST <list>/bulk/``: upsert many records in one request."""

    bulk_serializer_class: type[serializers.Serializer]
    bulk_service = None
    action_permissions = {"bulk": ["add", "change"]}

    def bulk(self, request, *args, **kwargs):
        serializer = self.bulk_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = self.bulk_service(items=serializer.validated_data["items"])
        except bulk.BulkError as error:
            raise serializers.ValidationError({"items": error.errors}) from None
        return Response(BulkResultSerializer(result).data, status=status.HTTP_200_OK)


EXAMPLES = {
    "customers": {"items": [
        {"external_id": "C-1001", "email": "Li.Wei@Example.com", "name": "李伟",
         "consent_status": "granted", "signed_up_at": "2024-03-01T10:00:00+08:00"},
        {"email": "wang.fang@example.com", "city": "上海", "attributes": {"vip": True}},
    ]},
    "orders": {"items": [
        {"external_id": "O-5001", "customer_external_id": "C-1001",
         "placed_at": "2025-05-20T14:30:00+08:00", "amount": "299.00", "category": "books"},
        {"external_id": "O-5002", "customer_email": "wang.fang@example.com",
         "placed_at": "2025-05-21T09:15:00+08:00", "amount": 88.5, "status": "refunded"},
    ]},
    "events": {"items": [
        {"external_id": "E-9001", "customer_external_id": "C-1001", "event_type": "session",
         "occurred_at": "2025-05-22T20:00:00+08:00", "properties": {"channel": "app"}},
    ]},
}


def bulk_action(request_serializer, summary: str, example: str):
    return extend_schema(
        summary=summary, description=BULK_DESCRIPTION, request=request_serializer,
        responses={200: BulkResultSerializer},
        examples=[OpenApiExample(example, value=EXAMPLES[example], request_only=True)],
    )


class CustomerViewSet(CustomerPrivacyMixin, BulkMixin, RulecastViewMixin, viewsets.ModelViewSet):
    """Customers: their details and email consent."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    filter_backends = [SearchFilter]
    search_fields = ["email", "name", "external_id"]
    bulk_serializer_class = BulkCustomersSerializer
    bulk_service = staticmethod(bulk.upsert_customers)

    @bulk_action(BulkCustomersSerializer, "Create or update customers in bulk", "customers")
    @action(detail=False, methods=["post"])
    def bulk(self, request, *args, **kwargs):
        """Customers matched by external id, else by email (trimmed, lower-cased)."""
        return super().bulk(request, *args, **kwargs)


class OrderViewSet(BulkMixin, RulecastViewMixin, viewsets.ModelViewSet):
    """Orders; saving one refreshes its customer's features and segments."""

    queryset = Order.objects.select_related("customer")
    serializer_class = OrderSerializer
    filter_backends = [CustomerFilter]
    bulk_serializer_class = BulkOrdersSerializer
    bulk_service = staticmethod(bulk.upsert_orders)

    @bulk_action(BulkOrdersSerializer, "Create or update orders in bulk", "orders")
    @action(detail=False, methods=["post"])
    def bulk(self, request, *args, **kwargs):
        """Orders matched by external id; each names its customer by `customer` (id),
        `customer_external_id` or `customer_email`."""
        return super().bulk(request, *args, **kwargs)


class EventViewSet(BulkMixin, RulecastViewMixin, viewsets.ModelViewSet):
    """Behavioural events (sessions, page views, cart adds...)."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filter_backends = [CustomerFilter]
    bulk_serializer_class = BulkEventsSerializer
    bulk_service = staticmethod(bulk.upsert_events)

    @bulk_action(BulkEventsSerializer, "Create or update events in bulk", "events")
    @action(detail=False, methods=["post"])
    def bulk(self, request, *args, **kwargs):
        """Events matched by external id; each names its customer as orders do."""
        return super().bulk(request, *args, **kwargs)
