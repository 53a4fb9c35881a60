"""Campaigns: create and edit drafts, preview, send a test, launch, pause, resume, cancel,
and read their statistics. Each action calls one service of ``campaigns.services``."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.base import RulecastViewMixin
from crm.api.errors import Conflict
from crm.api.schema import ErrorSerializer
from crm.models import Customer

from .. import services
from ..models import Campaign
from ..selectors import campaign_stats, preview_campaign, segment_stats
from .serializers import (
    CampaignSerializer,
    CampaignStatsSerializer,
    PreviewSerializer,
    TestSendSerializer,
    TestSentSerializer,
)

ARCHIVED = OpenApiParameter(
    "archived", OpenApiTypes.BOOL, default=False,
    description="true: only archived campaigns; false (default): only the others.",
)
PREVIEW_CUSTOMER = OpenApiParameter(
    "customer", OpenApiTypes.INT, description="Render for this customer; "
    "default: the first member of the first target segment.",
)


def _refused(error: services.CampaignError) -> serializers.ValidationError:
    return serializers.ValidationError({"non_field_errors": [str(error)]})


def _state_change(summary: str):
    return extend_schema(summary=summary, request=None, responses={200: CampaignSerializer})


CAMPAIGN_EXAMPLE = OpenApiExample("draft", request_only=True, value={
    "name": "Spring sale", "subject": "{{ name }}, spring is here",
    "html_body": '<p>Hello {{ name }}, see <a href="https://shop.example.com/spring">the '
                 "sale</a>.</p>",
    "text_body": "Hello {{ name }}, see https://shop.example.com/spring",
    "segments": [2], "test_address": "me@example.com",
})


@extend_schema_view(
    create=extend_schema(examples=[CAMPAIGN_EXAMPLE]),
    list=extend_schema(parameters=[ARCHIVED]),
    destroy=extend_schema(
        description="Only a campaign that never sent anything is deleted; one that has "
        "sent is archived instead (`POST .../archive/`), so its emails' links and "
        "unsubscribe keep working. 409 with the reason otherwise.",
        responses={204: None, 409: ErrorSerializer},
    ),
)
class CampaignViewSet(RulecastViewMixin, viewsets.ModelViewSet):
    """Email campaigns to published or hand-written segments.

    Archived campaigns are left out of the list unless ``?archived=true``; they stay
    readable by id.
    """

    queryset = Campaign.objects.prefetch_related("segments", "excluded_segments")
    serializer_class = CampaignSerializer
    # A preview shows a customer's data; writing actions need `change` (the default).
    action_permissions = {"preview": ["view", "crm.view_customer"]}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        raw = self.request.query_params.get("archived", "false")
        if raw not in ("true", "false"):
            raise serializers.ValidationError({"archived": ["Use true or false."]})
        return queryset.filter(archived_at__isnull=raw == "false")

    def perform_destroy(self, instance: Campaign) -> None:
        try:
            services.delete_campaign(campaign=instance)
        except services.CampaignError as error:
            raise Conflict(str(error)) from None

    def _transition(self, service) -> Response:
        campaign = self.get_object()
        try:
            service(campaign=campaign)
        except services.CampaignError as error:
            raise _refused(error) from None
        campaign.refresh_from_db()
        return Response(CampaignSerializer(campaign).data)

    @_state_change("Launch now, or schedule when its scheduled time is ahead")
    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        """Fix the recipients (members with consent, not unsubscribed or suppressed) and
        start sending; a campaign whose ``scheduled_at`` is ahead is scheduled instead."""
        campaign = self.get_object()
        if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
            return self._transition(services.schedule_campaign)
        return self._transition(services.launch_campaign)

    @_state_change("Pause sending")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._transition(services.pause_campaign)

    @_state_change("Resume a paused campaign")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._transition(services.resume_campaign)

    @_state_change("Cancel for good")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Pending deliveries are cancelled; messages in flight finish."""
        return self._transition(services.cancel_campaign)

    @_state_change("Archive a sent or cancelled campaign (hidden from the list; its "
                   "emails' links, unsubscribe and statistics keep working)")
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._transition(services.archive_campaign)

    @_state_change("Show an archived campaign in the list again")
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return self._transition(services.unarchive_campaign)

    @extend_schema(summary="Send a test message", request=TestSendSerializer,
                   responses={200: TestSentSerializer})
    @action(detail=True, methods=["post"], url_path="test")
    def test(self, request, pk=None):
        """Render for a sample member and send to ``address`` (or the test address);
        links are not tracked."""
        campaign = self.get_object()
        serializer = TestSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = serializer.validated_data.get("address") or campaign.test_address
        try:
            message_id = services.send_test(campaign=campaign, address=address)
        except services.CampaignError as error:
            raise _refused(error) from None
        return Response(TestSentSerializer({"address": address, "message_id": message_id}).data)

    @extend_schema(summary="The message as a recipient would get it",
                   parameters=[PREVIEW_CUSTOMER], responses={200: PreviewSerializer})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        campaign = self.get_object()
        customer = None
        raw = request.query_params.get("customer")
        if raw is not None:
            customer = Customer.objects.filter(pk=int(raw)).first() if (
                raw.isascii() and raw.isdigit() and int(raw) < 2**63) else None
            if customer is None:
                raise serializers.ValidationError({"customer": ["No customer has this id."]})
        try:
            preview = preview_campaign(campaign, customer=customer)
        except Exception as error:  # noqa: BLE001 — a template saved elsewhere may not render
            raise serializers.ValidationError(
                {"non_field_errors": [f"The message cannot be rendered: {error}"]}
            ) from None
        return Response(PreviewSerializer(preview).data)

    @extend_schema(summary="Deliveries, opens, clicks, unsubscribes and bounces",
                   responses={200: CampaignStatsSerializer})
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        """For the whole campaign and per target segment."""
        campaign = self.get_object()
        return Response(CampaignStatsSerializer(
            {"campaign": campaign_stats(campaign), "segments": segment_stats(campaign)}
        ).data)
