"""Published JSON Schemas of the stored formats (``rule-v1.schema.json``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["RULE_SCHEMA_PATH", "rule_schema"]

#: The JSON Schema (draft 2020-12) of the stored rule form, version 1.
RULE_SCHEMA_PATH = Path(__file__).with_name("rule-v1.schema.json")


@cache
def rule_schema() -> dict[str, Any]:
    """Return the rule JSON Schema as a dict (read once)."""
    return json.loads(RULE_SCHEMA_PATH.read_text(encoding="utf-8"))
