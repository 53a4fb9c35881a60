"""Campaigns as JSON, and what their actions take and answer."""

from __future__ import annotations

from rest_framework import serializers

from crm.api.fields import MomentField, StrictTypesMixin
from segmentation.models import Segment

from ..models import Campaign
from ..selectors import preview_campaign

TEMPLATE_FIELDS = ("subject", "html_body", "text_body")


class CampaignSerializer(StrictTypesMixin, serializers.ModelSerializer):
    segments = serializers.PrimaryKeyRelatedField(
        many=True, allow_empty=False, queryset=Segment.objects.targetable(),
        help_text="Target segments: hand-written ones or those of published runs.",
    )
    excluded_segments = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Segment.objects.targetable(),
        help_text="Members of these segments are left out.",
    )
    scheduled_at = MomentField(
        required=False, allow_null=True,
        help_text="Launching before this time schedules the campaign for it instead.",
    )

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "subject", "html_body", "text_body", "from_email", "reply_to",
            "segments", "excluded_segments", "scheduled_at", "status", "rate_limit",
            "test_address", "recipient_count", "launched_at", "finished_at", "archived_at",
            "created_at", "updated_at",
        ]
        read_only_fields = ["status", "recipient_count", "launched_at", "finished_at",
                            "archived_at", "created_at", "updated_at"]
        extra_kwargs = {"rate_limit": {"min_value": 1, "max_value": 1_000_000}}

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None and not self.instance.is_editable:
            raise serializers.ValidationError(
                {"status": ["Only a draft or scheduled campaign can be edited."]}
            )
        # Render the message for a sample customer: templates that do not compile, or
        # fail when rendered, are refused now rather than at launch.
        values = {name: attrs.get(name, getattr(self.instance, name, ""))
                  for name in (*TEMPLATE_FIELDS, "from_email", "reply_to", "name")}
        try:
            preview_campaign(Campaign(**values))
        except Exception as error:  # noqa: BLE001 — any template error is the input's fault
            raise serializers.ValidationError(
                {"non_field_errors": [f"The message cannot be rendered: {error}"]}
            ) from None
        return attrs


class PreviewSerializer(serializers.Serializer):
    """The message as one recipient would get it (links not tracked)."""

    address = serializers.CharField()
    subject = serializers.CharField(source="rendered.subject")
    text = serializers.CharField(source="rendered.text")
    html = serializers.CharField(source="rendered.html")


class TestSendSerializer(StrictTypesMixin, serializers.Serializer):
    address = serializers.EmailField(
        required=False, help_text="Where to send; empty: the campaign's test address.",
    )


class TestSentSerializer(serializers.Serializer):
    address = serializers.EmailField()
    message_id = serializers.CharField()


class StatsSerializer(serializers.Serializer):
    """Counts and rates; opens and clicks are unique, rates are shares of ``sent``
    (failed and unknown: of ``recipients``)."""

    label = serializers.CharField()
    segment_id = serializers.IntegerField(allow_null=True)
    recipients = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    unknown = serializers.IntegerField()
    skipped = serializers.IntegerField()
    waiting = serializers.IntegerField()
    opens = serializers.IntegerField()
    clicks = serializers.IntegerField()
    unsubscribes = serializers.IntegerField()
    bounces = serializers.IntegerField()
    complaints = serializers.IntegerField()
    open_rate = serializers.FloatField()
    click_rate = serializers.FloatField()
    unsubscribe_rate = serializers.FloatField()
    bounce_rate = serializers.FloatField()
    complaint_rate = serializers.FloatField()
    failed_rate = serializers.FloatField()
    unknown_rate = serializers.FloatField()


class CampaignStatsSerializer(serializers.Serializer):
    campaign = StatsSerializer()
    segments = StatsSerializer(many=True)
