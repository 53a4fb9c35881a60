"""Customers, orders and events as JSON: one at a time, and in bulk."""

from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from ..conf import crm_settings
from ..models import (
    ConsentStatus,
    Customer,
    Event,
    Gender,
    Order,
    OrderStatus,
    normalize_email,
)
from .fields import (
    BirthDateField,
    CurrencyField,
    ExternalIdField,
    JSONObjectField,
    MomentField,
    NormalizedEmailField,
    StrictTypesMixin,
)

BULK_MAX_ITEMS = 1000
CUSTOMER_FIELDS = [
    "external_id", "email", "name", "gender", "birth_date", "city", "country", "signed_up_at",
    "consent_status", "consent_source", "consent_at", "unsubscribed_at", "attributes",
]
ORDER_FIELDS = [
    "external_id", "placed_at", "amount", "currency", "item_count", "category", "channel",
    "status", "attributes",
]
CUSTOMER_REFERENCES = ["customer", "customer_external_id", "customer_email"]
REFERENCE_NAMES = {"customer": "id", "customer_external_id": "external id",
                   "customer_email": "email"}


def _unique(model, field_name: str) -> UniqueValidator:
    return UniqueValidator(
        queryset=model.objects.all(), message=f"Another {model._meta.verbose_name} has this "
        f"{model._meta.get_field(field_name).verbose_name}.",
    )


class CustomerSerializer(StrictTypesMixin, serializers.ModelSerializer):
    external_id = ExternalIdField(required=False, validators=[_unique(Customer, "external_id")])
    email = NormalizedEmailField(required=False, validators=[_unique(Customer, "email")])
    birth_date = BirthDateField(required=False, allow_null=True)
    signed_up_at = MomentField(required=False, allow_null=True)
    consent_at = MomentField(required=False, allow_null=True)
    unsubscribed_at = MomentField(required=False, allow_null=True)
    attributes = JSONObjectField(required=False)
    age = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", *CUSTOMER_FIELDS[:5], "age", *CUSTOMER_FIELDS[5:], "created_at",
                  "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs: dict) -> dict:
        email = attrs.get("email", getattr(self.instance, "email", None))
        external_id = attrs.get("external_id", getattr(self.instance, "external_id", None))
        if not email and not external_id:
            raise serializers.ValidationError(
                {"email": ["A customer needs an email or an external id."]}
            )
        return attrs


class IndexedListSerializer(serializers.ListSerializer):
    """A list whose errors name the items by index: ``{"3": {"email": ["..."]}}``."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, list):
                raise serializers.ValidationError(
                    {str(index): item for index, item in enumerate(error.detail) if item}
                ) from None
            raise


# --- single records -------------------------------------------------------------------


class OrderSerializer(StrictTypesMixin, serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    external_id = ExternalIdField(required=False, validators=[_unique(Order, "external_id")])
    placed_at = MomentField()
    currency = CurrencyField(required=False)
    attributes = JSONObjectField(required=False)

    class Meta:
        model = Order
        fields = ["id", "customer", *ORDER_FIELDS, "created_at"]
        read_only_fields = ["created_at"]

    def create(self, validated_data: dict) -> Order:
        validated_data.setdefault("currency", crm_settings.DEFAULT_CURRENCY)
        return super().create(validated_data)


class EventSerializer(StrictTypesMixin, serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    external_id = ExternalIdField(required=False, validators=[_unique(Event, "external_id")])
    occurred_at = MomentField()
    properties = JSONObjectField(required=False)

    class Meta:
        model = Event
        fields = ["id", "customer", "external_id", "event_type", "occurred_at", "properties"]


# --- bulk ------------------------------------------------------------------------------


class CustomerItemSerializer(StrictTypesMixin, serializers.Serializer):
    """A customer to create or update, matched by external id, else by email.

    Fields left out keep their stored values; ``attributes`` are merged into the stored ones.
    """

    external_id = ExternalIdField(required=False)
    email = NormalizedEmailField(required=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    birth_date = BirthDateField(required=False, allow_null=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=64, required=False, allow_blank=True)
    signed_up_at = MomentField(required=False, allow_null=True)
    consent_status = serializers.ChoiceField(choices=ConsentStatus.choices, required=False)
    consent_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    consent_at = MomentField(required=False, allow_null=True)
    unsubscribed_at = MomentField(required=False, allow_null=True)
    attributes = JSONObjectField(required=False)

    class Meta:
        list_serializer_class = IndexedListSerializer

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("external_id") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"external_id": ["Give an external id or an email to match the customer by."]}
            )
        return attrs


class CustomersByReference(IndexedListSerializer):
    """Items naming customers: all the customers they name are found with one query."""

    def to_internal_value(self, data):
        fits = isinstance(data, list) and len(data) <= (self.max_length or len(data))
        self.customers = find_customers(data if fits else [])
        return super().to_internal_value(data)


def find_customers(items: list) -> dict[str, dict]:
    """The customers ``items`` name: by id, external id and email, to their ids."""
    wanted: dict[str, set] = {name: set() for name in CUSTOMER_REFERENCES}
    for item in items:
        if not isinstance(item, dict):
            continue
        pk, ext, email = (item.get(name) for name in CUSTOMER_REFERENCES)
        if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < 2**63:
            wanted["customer"].add(pk)
        if isinstance(ext, str) and ext.strip() and "\x00" not in ext:
            wanted["customer_external_id"].add(ext.strip())
        if isinstance(email, str) and email.strip() and "\x00" not in email:
            wanted["customer_email"].add(normalize_email(email))
    query = Q()
    for name, lookup in zip(CUSTOMER_REFERENCES, ("pk__in", "external_id__in", "email__in"),
                            strict=True):
        if wanted[name]:
            query |= Q(**{lookup: wanted[name]})
    found = {name: {} for name in CUSTOMER_REFERENCES}
    if query:
        for pk, ext, email in Customer.objects.filter(query).values_list(
            "pk", "external_id", "email"
        ):
            found["customer"][pk] = pk
            found["customer_external_id"][ext] = pk
            found["customer_email"][email] = pk
    return found


class ReferencedItemSerializer(StrictTypesMixin, serializers.Serializer):
    """An item naming its customer by id, external id or email (several must agree);
    validated, it holds the customer's id as ``customer``."""

    customer = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="The customer's Rulecast id."
    )
    customer_external_id = ExternalIdField(required=False)
    customer_email = NormalizedEmailField(required=False)

    class Meta:
        list_serializer_class = CustomersByReference

    def validate(self, attrs: dict) -> dict:
        references = {name: value for name in CUSTOMER_REFERENCES
                      if (value := attrs.pop(name, None))}
        if not references:
            raise serializers.ValidationError(
                {"customer": ["Give customer, customer_external_id or customer_email."]}
            )
        customers = getattr(self.parent, "customers", None) or find_customers([references])
        errors, found = {}, set()
        for name, value in references.items():
            pk = customers[name].get(value)
            if pk is None:
                errors[name] = [f"No customer has this {REFERENCE_NAMES[name]}."]
            found.add(pk)
        if errors:
            raise serializers.ValidationError(errors)
        if len(found) > 1:
            raise serializers.ValidationError({"customer": [
                "customer, customer_external_id and customer_email name different customers."
            ]})
        attrs["customer"] = found.pop()
        return attrs


@extend_schema_field({
    "type": "string", "enum": OrderStatus.values,
    # Its own enum component (OrderItemStatusEnum): drf-spectacular warns when one choice
    # set named "status" appears in several components next to other "status" sets.
    "x-spec-enum-id": "crm-order-item-status",
})
class OrderItemStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=OrderStatus.choices, **kwargs)


class OrderItemSerializer(ReferencedItemSerializer):
    """An order to create or update, matched by its external id.

    Fields left out keep their stored values; ``attributes`` are merged into the stored ones.
    """

    external_id = serializers.CharField(max_length=128)
    placed_at = MomentField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = CurrencyField(required=False)
    item_count = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    channel = serializers.CharField(max_length=50, required=False, allow_blank=True)
    status = OrderItemStatusField(required=False)
    attributes = JSONObjectField(required=False)


class EventItemSerializer(ReferencedItemSerializer):
    """An event to create or update, matched by its external id."""

    external_id = serializers.CharField(max_length=128)
    event_type = serializers.CharField(max_length=50)
    occurred_at = MomentField()
    properties = JSONObjectField(required=False)


class BulkCustomersSerializer(StrictTypesMixin, serializers.Serializer):
    items = CustomerItemSerializer(many=True, min_length=1, max_length=BULK_MAX_ITEMS)


class BulkOrdersSerializer(StrictTypesMixin, serializers.Serializer):
    items = OrderItemSerializer(many=True, min_length=1, max_length=BULK_MAX_ITEMS)


class BulkEventsSerializer(StrictTypesMixin, serializers.Serializer):
    items = EventItemSerializer(many=True, min_length=1, max_length=BULK_MAX_ITEMS)


class BulkResultSerializer(serializers.Serializer):
    """What a bulk request did; items repeating an earlier item's id count as duplicates."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    duplicates = serializers.IntegerField()
