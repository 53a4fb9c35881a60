"""JSON with limits: a body too large or nested too deep is a 400 with the reason.

Python's ``json`` recurses per nesting level, so 10 KB of ``[[[[...`` raises
RecursionError (a 500), and a document that parses but nests hundreds of levels
makes every later walk over it slow or recursive. ``load_json`` reads at most
``JSON_MAX_BYTES``, parses, and measures the depth without recursion. The API
(``LimitedJSONParser``, in every Rulecast view, ``/api/token/`` included) and the
admin's rule field use it.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

from ..conf import crm_settings


class JSONLimitError(ValueError):
    """The document is too large, too deep, or not JSON; the message says which."""


def json_depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (a scalar is 0), iteratively."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return deepest


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")


def load_json(data: bytes | str, *, max_bytes: int | None = None,
              max_depth: int | None = None, strict: bool = True) -> Any:
    """Parse JSON within the configured limits; JSONLimitError with the reason otherwise.

    ``strict``: refuse NaN and Infinity, which are not JSON.
    """
    max_bytes = max_bytes or crm_settings.JSON_MAX_BYTES
    max_depth = max_depth or crm_settings.JSON_MAX_DEPTH
    size = len(data.encode() if isinstance(data, str) else data)
    too_deep = _("The JSON document nests deeper than %(limit)d levels.") % {"limit": max_depth}
    if size > max_bytes:
        raise JSONLimitError(_("The JSON document is larger than %(limit)d bytes.")
                             % {"limit": max_bytes})
    try:
        document = json.loads(data, parse_constant=_no_constants if strict else None)
    except RecursionError:
        raise JSONLimitError(too_deep) from None
    except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
        raise JSONLimitError(_("Not JSON: %(error)s") % {"error": error}) from None
    if json_depth(document) > max_depth:
        raise JSONLimitError(too_deep)
    return document


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser within JSON_MAX_BYTES and JSON_MAX_DEPTH (400 with the reason)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = crm_settings.JSON_MAX_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        charset = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = data.decode(charset)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": error}) from None
        try:
            return load_json(text, max_bytes=limit, strict=api_settings.STRICT_JSON)
        except JSONLimitError as error:
            raise ParseError(str(error)) from None
