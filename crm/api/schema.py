"""The API's OpenAPI schema: documented errors, integer ids, decimals, list bounds."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .fields import DECIMAL_PATTERN


class ErrorSerializer(serializers.Serializer):
    """An error without fields: not authenticated, not allowed, not found, throttled."""

    detail = serializers.CharField()


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Field-level reasons: each invalid field's name to its messages "
    "(nested for nested fields; bulk endpoints key items by their index).",
)


class RulecastAutoSchema(AutoSchema):
    """Documents the errors every operation can answer, so clients (and schemathesis)
    know them: 400 for input, 401/403 for credentials, 404, 415 and 429."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["429"]
        if self.view.authentication_classes:
            codes += ["401", "403"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("400")
            if self.get_request_serializer() is not None:
                codes.append("415")  # a body that is not JSON
        elif self._has_query_parameters():
            codes.append("400")
        if "{" in self.path or self._is_list_view():
            codes.append("404")  # an unknown id, or a page past the last
        for code in codes:
            if code in responses:
                continue
            schema = VALIDATION_ERROR if code == "400" else ErrorSerializer
            responses[code] = self._get_response_for_code(schema, code, direction=direction)
        return responses

    def _resolve_path_parameters(self, variables):
        # The URL takes any segment (see RulecastViewMixin.lookup_value_regex); the id
        # itself is the model's primary key.
        parameters = super()._resolve_path_parameters(variables)
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        for parameter in parameters:
            if model is not None and parameter["name"] in ("id", "pk"):
                parameter["schema"] = self._map_model_field(model._meta.pk, direction=None)
                parameter["description"] = f"The {model._meta.verbose_name}'s id."
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            # Answered as a string (exact); taken as a string or a JSON number.
            limit = float(10 ** (field.max_digits - field.decimal_places)
                          - 10 ** -field.decimal_places) if field.max_digits else None
            schema["pattern"] = DECIMAL_PATTERN
            number = {"type": "number"}
            if limit is not None:
                number.update(minimum=-limit, maximum=limit)
            extra = {k: schema.pop(k) for k in ("readOnly", "description", "title")
                     if k in schema}
            schema = {"anyOf": [number, schema], **extra}
        if direction != "request":
            # Input constraints: an answer may hold what validators refuse today (a sent
            # campaign whose target segments were deleted after it finished).
            return schema
        if (isinstance(field, serializers.CharField) and not field.allow_blank
                and not field.read_only and schema.get("type") == "string"):
            schema["minLength"] = max(schema.get("minLength", 0), 1)
        if (isinstance(field, serializers.ManyRelatedField) and not field.allow_empty
                and schema.get("type") == "array"):
            schema["minItems"] = 1
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.min_length is not None:
                schema["minItems"] = field.min_length
            elif not field.allow_empty:
                schema["minItems"] = 1
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema

    def _has_query_parameters(self) -> bool:
        if self._get_filter_parameters() or self._get_pagination_parameters():
            return True
        return any(getattr(p, "location", None) == "query" or
                   (isinstance(p, dict) and p.get("in") == "query")
                   for p in self.get_override_parameters())
