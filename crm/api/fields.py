"""Serializer fields that hold the API's input to what the database can store."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from ..models import normalize_email

# Years a stored moment may fall in: converting year 1 or 9999 between time zones
# overflows, and no customer, order or event lies outside these.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999
CURRENCY = re.compile(r"[A-Za-z]{3}")
# A decimal given as a string: digits, optionally a point and more digits.
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
DECIMAL_PATTERN = f"^{DECIMAL.pattern}$"
MAX_JSON_DEPTH = 20


class BlankIsNoneMixin:
    """Optional text: null or blank (after trimming) means none."""

    default_max_length = 255

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", self.default_max_length)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str) and not data.strip() and self.allow_null:
            data = None
        return super().run_validation(data)


class ExternalIdField(BlankIsNoneMixin, serializers.CharField):
    """An id from another system: trimmed; blank or null means none."""

    default_max_length = 128


class NormalizedEmailField(BlankIsNoneMixin, serializers.EmailField):
    """An address stored trimmed and lower-cased (as ``Customer.save`` does); blank is none."""

    default_max_length = 254

    def to_internal_value(self, data: Any) -> str | None:
        # Normalised before the validators run, so uniqueness is checked on the stored form.
        return normalize_email(super().to_internal_value(data))


class MomentField(serializers.DateTimeField):
    """A date and time (ISO 8601) between 1900 and 2999."""

    def to_internal_value(self, value: Any) -> datetime:
        moment = super().to_internal_value(value)
        if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR or not (
            EARLIEST_YEAR <= moment.astimezone(timezone.get_current_timezone()).year
            <= LATEST_YEAR
        ):
            raise serializers.ValidationError(
                f"Give a time between {EARLIEST_YEAR} and {LATEST_YEAR}."
            )
        return moment

    def to_representation(self, value: Any) -> Any:
        text = super().to_representation(value)
        if isinstance(text, str) and OFFSET_WITH_SECONDS.search(text):
            # Local mean time (Asia/Shanghai before 1928 is +08:05:43) has seconds in its
            # offset, which RFC 3339 cannot write: such moments are answered in UTC.
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return text


OFFSET_WITH_SECONDS = re.compile(r"[+-]\d\d:\d\d:\d\d(\.\d+)?$")


class BirthDateField(serializers.DateField):
    """A birth date: from 1900 to today."""

    def to_internal_value(self, value: Any) -> date:
        day = super().to_internal_value(value)
        if day.year < EARLIEST_YEAR or day > timezone.localdate():
            raise serializers.ValidationError(f"Give a date from {EARLIEST_YEAR} to today.")
        return day


@extend_schema_field({"type": "string", "pattern": f"^{CURRENCY.pattern}$", "example": "CNY"})
class CurrencyField(serializers.CharField):
    """A three-letter ISO 4217 code, stored upper-case."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_length", 3)
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data)
        if not CURRENCY.fullmatch(code):
            raise serializers.ValidationError("A three-letter currency code, e.g. CNY.")
        return code.upper()


def check_json(value: Any, depth: int = 0) -> None:
    """Refuse what a JSON column cannot store: NUL characters, NaN and infinities."""
    if depth > MAX_JSON_DEPTH:
        raise serializers.ValidationError(f"Nested more than {MAX_JSON_DEPTH} levels deep.")
    if isinstance(value, str):
        if "\x00" in value:
            raise serializers.ValidationError("Text may not contain NUL characters.")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise serializers.ValidationError("Numbers must be finite.")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json(key, depth + 1)
            check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, depth + 1)


class JSONObjectField(serializers.DictField):
    """A JSON object of any values (``attributes``, ``properties``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.JSONField(allow_null=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict:
        value = super().to_internal_value(data)
        check_json(value)
        return value


def json_type_error(field: serializers.Field, value: Any) -> str | None:
    """Why ``value`` (parsed JSON) is not of the JSON type the schema gives ``field``.

    DRF coerces (``0`` becomes ``"0"``, ``"12"`` becomes ``12``) and measures text after
    trimming it; the API does neither, so what the schema calls invalid is refused.
    """
    if (isinstance(field, serializers.CharField) and isinstance(value, str)
            and field.max_length is not None and len(value) > field.max_length):
        return f"Ensure this field has no more than {field.max_length} characters."
    if value is None:
        return None  # the field decides whether null is allowed
    if isinstance(field, serializers.BooleanField):
        expected, ok = "a boolean", isinstance(value, bool)
    elif isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField):
        expected, ok = "an integer", isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(field, serializers.FloatField):
        expected = "a number"
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(field, serializers.DecimalField):
        expected = "a number, or a string of digits such as 12.50"
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and DECIMAL.fullmatch(value) is not None)
    elif isinstance(field, serializers.ChoiceField):
        expected = "a string"
        ok = isinstance(value, str) or not all(isinstance(c, str) for c in field.choices)
    elif isinstance(field, serializers.CharField | serializers.DateField
                    | serializers.DateTimeField | serializers.TimeField):
        expected, ok = "a string", isinstance(value, str)
    elif isinstance(field, serializers.ManyRelatedField):
        expected = "a list of integers"
        ok = isinstance(value, list) and all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        )
    else:
        return None
    return None if ok else f"Expected {expected}, got {type(value).__name__}."


class StrictTypesMixin:
    """A serializer refusing JSON values of the wrong type instead of coercing them."""

    def to_internal_value(self, data):
        type_errors = {}
        if isinstance(data, dict):  # JSON; form data is all strings
            for field in self._writable_fields:
                if field.field_name in data:
                    reason = json_type_error(field, data[field.field_name])
                    if reason:
                        type_errors[field.field_name] = [reason]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if type_errors and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **type_errors}) from None
            raise
        if type_errors:
            raise serializers.ValidationError(type_errors)
        return value
