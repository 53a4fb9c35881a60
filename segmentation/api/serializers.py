from rest_framework import serializers

from ..models import Segment, Segmentation, SegmentationRun
from ..rules import RuleError
from ..services import parse_rule_document


class SegmentationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segmentation
        fields = ["id", "name", "description", "features", "algorithm", "n_clusters", "k_min",
                  "k_max", "max_leaves", "sample_size", "random_seed", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class SegmentSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "kind", "index", "name", "name_zh", "size", "share"]


class SegmentationRunSerializer(serializers.ModelSerializer):
    segments = SegmentSummarySerializer(many=True, read_only=True)

    class Meta:
        model = SegmentationRun
        fields = ["id", "segmentation", "status", "stage", "progress", "error", "as_of",
                  "customer_count", "feature_names", "metrics", "timings", "is_published",
                  "published_at", "created_at", "started_at", "finished_at", "segments"]
        read_only_fields = fields


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "kind", "run", "index", "name", "name_zh", "description",
                  "description_zh", "rule", "size", "share", "profile", "created_at",
                  "updated_at"]
        read_only_fields = fields


class ManualSegmentSerializer(serializers.Serializer):
    """A hand-written segment: its rule as the stored JSON form or as JsonLogic."""

    name = serializers.CharField(max_length=120)
    name_zh = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    rule_format = serializers.ChoiceField(choices=["json", "jsonlogic"], default="json")
    rule = serializers.JSONField()

    def validate(self, attrs: dict) -> dict:
        try:
            attrs["rule"] = parse_rule_document(attrs["rule"], attrs["rule_format"])
        except RuleError as error:
            raise serializers.ValidationError({"rule": [str(error)]}) from None
        return attrs
