from rest_framework import serializers

from crm.api.fields import JSONObjectField, MomentField, StrictTypesMixin

from ..features import registry
from ..models import Algorithm, Segment, Segmentation, SegmentationRun
from ..pipeline import PipelineError
from ..rules import RuleError
from ..services import parse_rule_document, pipeline_config


class SegmentationSerializer(StrictTypesMixin, serializers.ModelSerializer):
    features = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100,
        help_text="Registered feature names to segment on; empty: the default set.",
    )

    class Meta:
        model = Segmentation
        fields = ["id", "name", "description", "features", "algorithm", "n_clusters", "k_min",
                  "k_max", "max_leaves", "sample_size", "random_seed", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        # The pipeline's own bounds (PipelineConfig.validate), so the schema states them.
        extra_kwargs = {"n_clusters": {"min_value": 2}, "k_min": {"min_value": 2},
                        "k_max": {"min_value": 2}, "max_leaves": {"min_value": 2},
                        "sample_size": {"min_value": 100}}

    def validate_features(self, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in registry]
        if unknown:
            raise serializers.ValidationError(f"Unknown features: {', '.join(unknown)}.")
        return list(dict.fromkeys(value))

    def validate(self, attrs: dict) -> dict:
        """Refuse what a run would refuse (k_min above k_max, a sample under 100...)."""
        fields = {f: getattr(self.instance, f) for f in self.Meta.fields
                  if self.instance is not None and f not in ("id",)}
        try:
            pipeline_config(Segmentation(**{**fields, **attrs})).validate()
        except PipelineError as error:
            raise serializers.ValidationError({"non_field_errors": [str(error)]}) from None
        return attrs


class SegmentSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "kind", "index", "name", "name_zh", "size", "share"]


class SegmentationRunSerializer(serializers.ModelSerializer):
    segments = SegmentSummarySerializer(many=True, read_only=True)

    class Meta:
        model = SegmentationRun
        fields = ["id", "segmentation", "status", "stage", "progress", "error", "as_of",
                  "options",
                  "customer_count", "feature_names", "metrics", "timings", "is_published",
                  "published_at", "created_at", "started_at", "finished_at",
                  "members_dropped_at", "segments"]
        read_only_fields = fields


class RunRequestSerializer(StrictTypesMixin, serializers.Serializer):
    """What a new run may set for itself only (the segmentation keeps its own settings)."""

    as_of = MomentField(
        required=False, allow_null=True,
        help_text="Measure time features as of this moment; empty: now, or the day after "
                  "the latest order or event when the data ended more than 30 days ago.")
    n_clusters = serializers.IntegerField(
        required=False, allow_null=True, min_value=2, max_value=50,
        help_text="Segments of customers with orders for this run; null chooses.")
    algorithm = serializers.ChoiceField(choices=Algorithm.choices, required=False)
    random_seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)

    def run_options(self) -> dict:
        return {key: value for key, value in self.validated_data.items() if key != "as_of"}


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "kind", "run", "index", "name", "name_zh", "description",
                  "description_zh", "rule", "size", "share", "profile", "created_at",
                  "updated_at"]
        read_only_fields = fields


class ManualSegmentSerializer(StrictTypesMixin, serializers.Serializer):
    """A hand-written segment: its rule as the stored JSON form or as JsonLogic."""

    name = serializers.CharField(max_length=120)
    name_zh = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    rule_format = serializers.ChoiceField(choices=["json", "jsonlogic"], default="json")
    rule = JSONObjectField(help_text='The rule: {"version": 1, "any": [{"all": [{"feature": '
                           '"frequency", "op": ">=", "value": 3}]}]}, or its JsonLogic form.')
    everyone = serializers.BooleanField(
        default=False, write_only=True,
        help_text="True when the rule may select every customer (a clause without conditions).")

    def validate(self, attrs: dict) -> dict:
        try:
            attrs["rule"] = parse_rule_document(attrs["rule"], attrs["rule_format"],
                                                everyone=attrs.pop("everyone", False))
        except RuleError as error:
            raise serializers.ValidationError({"rule": [str(error)]}) from None
        return attrs


class ExportedSegmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    rule = serializers.JSONField(help_text="The rule in the chosen format: the stored JSON "
                                 "form (format=json) or a JsonLogic expression (jsonlogic).")


class RuleExportSerializer(serializers.Serializer):
    """Rules as JSON (format=json or jsonlogic): one entry per segment."""

    title = serializers.CharField(allow_blank=True)
    format = serializers.CharField(help_text="json or jsonlogic, as asked.")
    segments = ExportedSegmentSerializer(many=True)
