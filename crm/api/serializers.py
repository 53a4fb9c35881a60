from rest_framework import serializers

from ..models import Customer, Event, Order, normalize_email


class CustomerSerializer(serializers.ModelSerializer):
    age = serializers.IntegerField(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id", "external_id", "email", "name", "gender", "birth_date", "age", "city",
            "country", "signed_up_at", "consent_status", "consent_source", "consent_at",
            "unsubscribed_at", "attributes", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_email(self, value: str | None) -> str | None:
        return normalize_email(value)

    def validate(self, attrs: dict) -> dict:
        email = attrs.get("email", getattr(self.instance, "email", None))
        external_id = attrs.get("external_id", getattr(self.instance, "external_id", None))
        if not email and not external_id:
            raise serializers.ValidationError(
                {"email": "A customer needs an email or an external id."}
            )
        return attrs


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = [
            "id", "customer", "external_id", "placed_at", "amount", "currency", "item_count",
            "category", "channel", "status", "attributes", "created_at",
        ]
        read_only_fields = ["created_at"]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "customer", "external_id", "event_type", "occurred_at", "properties"]
