from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.api.base import RulecastViewMixin
from crm.api.errors import Conflict, Gone
from crm.api.schema import ErrorSerializer
from crm.api.serializers import CustomerSerializer

from .. import protection, services
from ..exports import FILE_FORMATS, LANGUAGES, export_run, export_segments
from ..membership import write_run_labels
from ..models import Segment, Segmentation, SegmentationRun, SegmentKind
from ..retention import MembersDropped, ensure_members_kept
from .serializers import (
    ManualSegmentSerializer,
    RuleExportSerializer,
    RunRequestSerializer,
    SegmentationRunSerializer,
    SegmentationSerializer,
    SegmentSerializer,
)

EXPORT_PARAMETERS = [
    OpenApiParameter("format", OpenApiTypes.STR, enum=FILE_FORMATS, default="json"),
    OpenApiParameter("lang", OpenApiTypes.STR, enum=LANGUAGES, default="en"),
]
# One answer per format, chosen by ?format= (not by Accept): JSON for json and jsonlogic
# (first, so generated clients read it as their model), text/plain for text,
# application/sql for sql.
EXPORT_RESPONSES = {
    (200, "application/json"): OpenApiResponse(
        RuleExportSerializer, description="format=json or format=jsonlogic: a JSON document."),
    (200, "text/plain"): OpenApiResponse(
        OpenApiTypes.STR, description="format=text: the rules as sentences, one per segment."),
    (200, "application/sql"): OpenApiResponse(
        OpenApiTypes.STR, description="format=sql: one SELECT per segment."),
}
MANUAL_SEGMENT_EXAMPLES = [
    OpenApiExample("json", request_only=True, value={
        "name": "Frequent big spenders", "rule_format": "json",
        "rule": {"version": 1, "any": [{"all": [
            {"feature": "frequency", "op": ">=", "value": 5},
            {"feature": "total_spend", "op": ">", "value": 2000},
        ]}]},
    }),
    OpenApiExample("jsonlogic", request_only=True, value={
        "name": "Recent buyers", "rule_format": "jsonlogic",
        "rule": {"<=": [{"var": "recency_days"}, 30]},
    }),
]
RUN_LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202],
    description="The run's URL: poll it until its status is succeeded or failed.",
)


class ExportFormatMixin:
    """``?format=`` names the export format on the rules actions, not a DRF renderer."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=force or self.action == "rules")


def export_response(request, render) -> HttpResponse:
    fmt = request.query_params.get("format", "json")
    lang = request.query_params.get("lang", "en")
    if fmt not in FILE_FORMATS:
        raise ValidationError({"format": [f"Use one of {', '.join(FILE_FORMATS)}."]})
    if lang not in LANGUAGES:
        raise ValidationError({"lang": [f"Use one of {', '.join(LANGUAGES)}."]})
    exported = render(fmt, lang)
    return HttpResponse(exported.content, content_type=exported.content_type)


def protected_destroy(description: str):
    """The schema of a DELETE that answers 409 with the reason when something relies on it."""
    return extend_schema(description=description,
                         responses={204: None, 409: ErrorSerializer})


def _delete_or_409(delete, **target) -> None:
    try:
        delete(**target)
    except protection.InUse as error:
        raise Conflict(" ".join(error.reasons)) from None


class SegmentationViewSet(RulecastViewMixin, viewsets.ModelViewSet):
    queryset = Segmentation.objects.all()
    serializer_class = SegmentationSerializer

    @protected_destroy("Deletes the segmentation and its runs; 409 with the reason when a "
                       "run is published or a campaign relies on one of its segments.")
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Segmentation) -> None:
        _delete_or_409(protection.delete_segmentation, segmentation=instance)

    @extend_schema(request=RunRequestSerializer, responses={202: SegmentationRunSerializer},
                   parameters=[RUN_LOCATION])
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        """Start a run; poll the returned URL until its status is succeeded or failed.

        The body may set ``as_of``, ``n_clusters``, ``algorithm`` and ``random_seed``
        for this run only.
        """
        segmentation = self.get_object()
        body = RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                run = services.start_run(segmentation=segmentation,
                                         as_of=body.validated_data.get("as_of"),
                                         options=body.run_options())
        except ValueError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from None
        url = request.build_absolute_uri(reverse("segmentationrun-detail", args=[run.pk]))
        return Response(SegmentationRunSerializer(run).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": url})


class SegmentationRunViewSet(RulecastViewMixin, ExportFormatMixin, mixins.DestroyModelMixin,
                             viewsets.ReadOnlyModelViewSet):
    queryset = SegmentationRun.objects.select_related("segmentation").prefetch_related("segments")
    serializer_class = SegmentationRunSerializer
    # Labels are per customer: reading them needs the permission to view customers too.
    action_permissions = {"labels": ["view", "crm.view_customer"]}

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=force or self.action == "labels")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, 410: ErrorSerializer})
    @action(detail=True, methods=["get"])
    def labels(self, request, pk=None):
        """Each member's segment (by the rules) beside their k-means cluster, as CSV; 410
        when member retention dropped the run's members."""
        run = self.get_object()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-labels.csv"'
        try:
            write_run_labels(run, response)
        except MembersDropped as error:
            raise Gone(str(error)) from None
        return response

    @protected_destroy("Deletes an unpublished run and its segments; 409 with the reason "
                       "when it is published or a campaign relies on one of its segments.")
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: SegmentationRun) -> None:
        _delete_or_409(protection.delete_run, run=instance)

    @extend_schema(request=None, responses={200: SegmentationRunSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        try:
            run = services.publish_run(run=self.get_object())
        except ValueError as error:
            raise ValidationError({"status": [str(error)]}) from None
        return Response(SegmentationRunSerializer(run).data)

    @extend_schema(parameters=EXPORT_PARAMETERS, responses=EXPORT_RESPONSES)
    @action(detail=True, methods=["get"])
    def rules(self, request, pk=None):
        """Every segment's rule, as text, json, jsonlogic or sql."""
        run = self.get_object()
        return export_response(request, lambda fmt, lang: export_run(run, fmt, lang=lang))


class SegmentViewSet(RulecastViewMixin, ExportFormatMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                     viewsets.ReadOnlyModelViewSet):
    """Segments found by runs (read-only) and hand-written ones (create and edit)."""

    queryset = Segment.objects.select_related("run").order_by("pk")
    serializer_class = SegmentSerializer
    # Members are customers: reading them needs the permission to view customers too.
    action_permissions = {"members": ["view", "crm.view_customer"]}

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ManualSegmentSerializer
        return SegmentSerializer

    @extend_schema(request=ManualSegmentSerializer, responses={201: SegmentSerializer},
                   examples=MANUAL_SEGMENT_EXAMPLES)
    def create(self, request, *args, **kwargs):
        serializer = ManualSegmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("rule_format")
        segment = services.save_manual_segment(**data)
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ManualSegmentSerializer, responses={200: SegmentSerializer})
    def update(self, request, *args, **kwargs):
        segment = self.get_object()
        if segment.kind != SegmentKind.MANUAL:
            raise ValidationError({"kind": ["Found segments come from runs; edit a run instead."]})
        serializer = ManualSegmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("rule_format")
        segment = services.save_manual_segment(segment=segment, **data)
        return Response(SegmentSerializer(segment).data)

    @protected_destroy("Deletes a hand-written segment; 409 with the reason for a found "
                       "segment (deleted with its run) or one a campaign relies on.")
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Segment) -> None:
        _delete_or_409(protection.delete_segment, segment=instance)

    @extend_schema(parameters=EXPORT_PARAMETERS, responses=EXPORT_RESPONSES)
    @action(detail=True, methods=["get"])
    def rules(self, request, pk=None):
        """The segment's rule as text, json, jsonlogic or sql."""
        segment = self.get_object()
        return export_response(request,
                               lambda fmt, lang: export_segments([segment], fmt, lang=lang))

    @extend_schema(responses={200: CustomerSerializer(many=True), 410: ErrorSerializer})
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        """The segment's customers, paged; 410 when member retention dropped its run's."""
        segment = self.get_object()
        if segment.run is not None:
            try:
                ensure_members_kept(segment.run)
            except MembersDropped as error:
                raise Gone(str(error)) from None
        page = self.paginate_queryset(segment.members().order_by("pk"))
        return self.get_paginated_response(CustomerSerializer(page, many=True).data)
