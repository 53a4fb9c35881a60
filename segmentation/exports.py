"""Segments' rules as files: one segment or a whole run, in any export format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from .features import registry
from .models import Segment, SegmentationRun
from .querying import feature_columns
from .rules import Rule
from .rules.export import export_rule

FILE_FORMATS = ("text", "json", "jsonlogic", "sql")
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class ExportFile:
    content: str
    content_type: str
    extension: str


def render_rule(segment: Segment, fmt: str, *, lang: str = "en"):
    """One segment's rule in ``fmt`` (text, json, jsonlogic, sql, sql_inline)."""
    rule = Rule.from_dict(segment.rule)
    if fmt == "text":
        return export_rule(rule, "text", catalog=registry.catalog(), lang=lang)
    if fmt in ("sql", "sql_inline"):
        vendor = connection.vendor  # PostgreSQL or SQLite: the databases Rulecast supports
        columns = feature_columns(connection)
        if fmt == "sql":
            sql, params = export_rule(rule, "sql", columns=columns, dialect=vendor)
            return {"where": sql, "params": params, "dialect": vendor}
        return export_rule(rule, "sql_inline", columns=columns, dialect=vendor)
    return export_rule(rule, fmt)


def _name(segment: Segment, lang: str) -> str:
    return (segment.name_zh or segment.name) if lang == "zh" else segment.name


def export_segments(segments: Iterable[Segment], fmt: str, *, lang: str = "en",
                    title: str = "") -> ExportFile:
    """One file holding every segment: name, size and rule."""
    if fmt not in FILE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FILE_FORMATS)}")
    segments = list(segments)
    if fmt == "text":
        blocks = [f"{_name(s, lang)} ({s.size})\n  {render_rule(s, 'text', lang=lang)}"
                  for s in segments]
        return ExportFile("\n\n".join(([title] if title else []) + blocks) + "\n",
                          "text/plain; charset=utf-8", "txt")
    if fmt == "sql":
        table = connection.ops.quote_name("segmentation_customerfeatures")
        blocks = [
            f"-- {_name(s, lang)} ({s.size})\nSELECT customer_id FROM {table}\n"
            f"WHERE {render_rule(s, 'sql_inline')};"
            for s in segments
        ]
        header = [f"-- {title}"] if title else []
        return ExportFile("\n\n".join(header + blocks) + "\n", "application/sql", "sql")
    document = {
        "title": title,
        "format": fmt,
        "segments": [
            {"id": s.pk, "name": _name(s, lang), "size": s.size, "rule": render_rule(s, fmt)}
            for s in segments
        ],
    }
    return ExportFile(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                      "application/json", "json")


def export_run(run: SegmentationRun, fmt: str, *, lang: str = "en") -> ExportFile:
    title = f"{run.segmentation.name}, run {run.pk}"
    return export_segments(run.segments.order_by("index"), fmt, lang=lang, title=title)
