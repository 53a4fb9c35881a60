"""Parse a customers file a column at a time; the row-by-row parser stays the reference.

A block of records is turned into columns, and each mapped column is checked and
normalised as a whole: text by its length, emails by one regular expression, dates and
times by pandas, choices (gender, consent...) and extra columns by the row parser's
own functions once per distinct value. The values come out as the text PostgreSQL's
``COPY`` reads, so that a batch of new customers is written without a Python object
per cell. Any row a column check does not pass (a bad value, a row of another width,
undecodable bytes, an odd date...) is handed to :class:`~crm.importing.rows.RowParser`,
which reports its errors exactly as a row-by-row import does, or returns its values;
a batch holding such a row, or meeting stored customers, is upserted row by row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from ..models import ImportKind
from . import values
from .mapping import ATTRIBUTES, Column
from .reading import RecordChunk
from .rows import NO_VALUE, ParsedRow, RowParser, _max_length

# A cell the column check leaves to the row parser (a string: `in` tests stay quick;
# a file holding it merely sends its row to the row parser).
_BAD = "\x00\x01<bad>\x02"
_CACHE_SIZE = 50_000  # distinct values remembered per column
_SEP = "\x00"  # joins a column into one string, checked by one regular expression
_EMAIL = values._PLAIN_EMAIL_RE.pattern
_EMAIL_COLUMN_RE = re.compile(f"(?:{_EMAIL})?(?:\x00(?:{_EMAIL})?)*")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


# ISO dates and times numpy reads exactly as datetime.fromisoformat: by length, the
# characters expected ("d" a digit, " " a space or a T).
_ISO_TEMPLATE = "dddd-dd-dd dd:dd:dd"
_MIN_DAY, _MAX_DAY = np.datetime64("1900-01-01", "s"), np.datetime64("2200-01-01", "s")


def _iso_days(column: list[str], *, dates_only: bool) -> np.ndarray | None:
    """The column as naive datetime64[s] (NaT for empty cells) when every cell is an
    ISO date (``YYYY-MM-DD``) or, unless ``dates_only``, a date and time to the minute
    or second, in 1900-2199; else None."""
    if not column:
        return None
    size = np.fromiter(map(len, column), np.int64, len(column))
    if not set(np.unique(size).tolist()) <= ({0, 10} if dates_only else {0, 10, 16, 19}):
        return None
    codes = np.array(column, dtype="U19").view(np.uint32).reshape(len(column), 19)
    inside = np.arange(19)[None, :] < size[:, None]
    digit = (codes >= 48) & (codes <= 57)
    for position, char in enumerate(_ISO_TEMPLATE):
        if char == "d":
            continue
        if char == " ":
            digit[:, position] = (codes[:, position] == 32) | (codes[:, position] == 84)
        else:
            digit[:, position] = codes[:, position] == ord(char)
    if not (digit | ~inside).all():
        return None
    try:
        days = np.array(column, dtype="datetime64[s]")
    except ValueError:  # 30 February, 24:00...
        return None
    present = days[~np.isnat(days)]
    if len(present) and (present.min() < _MIN_DAY or present.max() >= _MAX_DAY):
        return None
    return days


def _offset_text(seconds: int) -> str:
    """A UTC offset as COPY reads it: +08:00, -05:00, +00:05:43."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def _joined(column: list[str]) -> str | None:
    """The column as one string, or None when a cell holds the separator itself."""
    text = _SEP.join(column)
    return text if text.count(_SEP) == len(column) - 1 else None


# Fields the columns path writes for a customers file (no age: its estimated birth
# date is the row path's).
COLUMN_FIELDS = {"external_id", "email", "name", "gender", "birth_date", "city", "country",
                 "signed_up_at", "consent_status", "consent_source", "consent_at",
                 "unsubscribed_at"}


def copy_text(value: Any) -> str:
    """A parsed value as COPY's text format writes it (unescaped)."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def escape_copy(column: list[str]) -> list[str]:
    """Escape backslashes, tabs and line breaks for COPY's text format, if any."""
    if _NEEDS_ESCAPE.search("".join(column)):
        return [value.translate(_COPY_ESCAPES) for value in column]
    return column


class ColumnRows:
    """Valid rows of a customers file, column by column, in file order.

    ``raw`` holds the file's cells by column, ``fields`` each mapped customer field's
    values as COPY text ("" when the cell gives none), ``attributes`` each row's
    attributes as JSON text; a row the row parser handled has its :class:`ParsedRow` in
    ``parsed`` instead (and "" in ``fields``).
    """

    __slots__ = ("attributes", "fields", "groups", "lines", "parse", "parsed", "raw")

    def __init__(self, lines: list[int], raw: list[list[str]], groups: list[Any],
                 parsed: list[ParsedRow | None], fields: dict[str, list[str]],
                 attributes: list[str], parse: Callable[..., ParsedRow | None]) -> None:
        self.lines = lines
        self.raw = raw
        self.groups = groups
        self.parsed = parsed
        self.fields = fields
        self.attributes = attributes
        self.parse = parse

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, span: slice) -> ColumnRows:
        return ColumnRows(self.lines[span], [column[span] for column in self.raw],
                          self.groups[span], self.parsed[span],
                          {k: v[span] for k, v in self.fields.items()},
                          self.attributes[span], self.parse)

    def __add__(self, other: ColumnRows) -> ColumnRows:
        return ColumnRows(self.lines + other.lines,
                          [a + b for a, b in zip(self.raw, other.raw, strict=True)],
                          self.groups + other.groups, self.parsed + other.parsed,
                          {k: v + other.fields[k] for k, v in self.fields.items()},
                          self.attributes + other.attributes, self.parse)

    @staticmethod
    def join(parts: list[ColumnRows]) -> ColumnRows:
        """The parts one after the other (each list copied once, not once per part)."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]

        def chained(get: Callable[[ColumnRows], list]) -> list:
            joined: list = []
            for part in parts:
                joined += get(part)  # a list extended by a list: copied in C, not iterated
            return joined

        return ColumnRows(
            chained(lambda p: p.lines),
            [chained(lambda p, i=i: p.raw[i]) for i in range(len(first.raw))],
            chained(lambda p: p.groups), chained(lambda p: p.parsed),
            {name: chained(lambda p, name=name: p.fields[name]) for name in first.fields},
            chained(lambda p: p.attributes), first.parse)

    @property
    def all_columns(self) -> bool:
        """True when every row's values are in the columns (none needed the row parser)."""
        return not any(self.parsed)

    def keys_unique(self) -> bool:
        """No external id, and no email, on two rows: each row a customer of its own."""
        for name in ("external_id", "email"):
            column = self.fields.get(name)
            if column is not None:
                present = len(column) - column.count("")
                if len(set(column)) - ("" in column) != present:
                    return False
        return True

    def rows(self) -> list[ParsedRow]:
        """The rows as the row parser gives them (for the row-by-row upsert)."""
        parse = self.parse
        return [parsed or parse(line, list(record))
                for line, record, parsed in zip(self.lines, zip(*self.raw, strict=True),
                                                self.parsed, strict=True)]


class ColumnParser:
    """Parses blocks of records of a customers file into :class:`ColumnRows`."""

    def __init__(self, row_parser: RowParser, columns: list[Column], *, date_format: str,
                 tz: tzinfo) -> None:
        self.row_parser = row_parser
        self.width = row_parser.width
        self.date_format = date_format
        self.tz = tz
        self.plan: list[tuple[int, str, Callable[[list[str]], list[Any]]]] = []
        self.attribute_plan: list[tuple[int, Callable[[list[str]], list[Any]]]] = []
        for column in columns:
            target = column.target
            if target.field == ATTRIBUTES:
                self.attribute_plan.append((column.index, self._attribute(target.key)))
            else:
                self.plan.append((column.index, target.field, self._handler(target)))

    @staticmethod
    def supports(kind: str, columns: list[Column]) -> bool:
        """Whether a file with these columns can take the columns path: a customers
        file without value tables and without an age column."""
        return kind == ImportKind.CUSTOMERS and all(
            column.values is None and column.target.entity == "customer"
            and (column.target.field == ATTRIBUTES or column.target.field in COLUMN_FIELDS)
            for column in columns
        )

    # --- column handlers: raw cells to COPY text, "" for no value, _BAD to leave ------

    def _handler(self, target) -> Callable[[list[str]], list[str]]:
        value_type = target.value_type
        if value_type in ("text", "id"):
            return self._text(_max_length(target.entity, target.field))
        if value_type == "email":
            return self._email
        if value_type == "datetime":
            return self._datetime
        if value_type == "date":
            return self._date(self._cached(values.date_parser(self.date_format), copy_text,
                                           False))
        parse = {"gender": values.parse_gender, "consent": values.parse_consent}[value_type]
        return self._cached(parse, copy_text, False)

    @staticmethod
    def _text(max_length: int) -> Callable[[list[str]], list[str]]:
        parse = values.text_parser(max_length)

        def one(cell: str) -> str:
            value = cell.strip()
            if not value or value in NO_VALUE:
                return ""
            try:
                return parse(value)
            except ValueError:
                return _BAD

        def handle(cells: list[str]) -> list[str]:
            stripped = list(map(str.strip, cells))
            text = _joined(stripped)
            if (text is None or "\x00'" in text or text[:1] == "'"
                    or not NO_VALUE.isdisjoint(stripped)
                    or max(map(len, stripped)) > max_length):
                return [one(cell) for cell in cells]
            return stripped

        return handle

    @staticmethod
    def _email(cells: list[str]) -> list[str]:
        text = _joined(list(map(str.strip, cells)))
        if text is not None:
            text = text.lower()
            column = text.split(_SEP)
            if (len(column) == len(cells) and _EMAIL_COLUMN_RE.fullmatch(text)
                    and max(map(len, column)) <= 254):
                return column
        column = [cell.strip().lower() for cell in cells]
        match = values._PLAIN_EMAIL_RE.fullmatch
        for i, value in enumerate(column):
            if value and (len(value) > 254 or not match(value)):
                raw = cells[i].strip()
                try:
                    column[i] = values.parse_email(raw)
                except ValueError:
                    column[i] = "" if raw in NO_VALUE else _BAD
        return column

    @staticmethod
    def _cached(parse: Callable[[str], Any], to_text: Callable[[Any], str],
                is_text: bool) -> Callable[[list[str]], list[str]]:
        """Each distinct cell parsed once by the row parser's function."""
        cache: dict[str, str] = {}

        def one(cell: str) -> str:
            raw = cell.strip()
            if not raw or (is_text and raw in NO_VALUE):
                return ""
            try:
                return to_text(parse(raw))
            except ValueError:
                return "" if raw in NO_VALUE else _BAD

        def handle(cells: list[str]) -> list[str]:
            if len(cache) > _CACHE_SIZE:
                cache.clear()
            try:
                return list(map(cache.__getitem__, cells))
            except KeyError:
                for cell in set(cells).difference(cache):
                    cache[cell] = one(cell)
                return list(map(cache.__getitem__, cells))

        return handle

    def _attribute(self, key: str) -> Callable[[list[str]], list[str]]:
        # Each value as ', "key": value', so that a row's object is its parts joined.
        prefix = ", " + json.dumps(key, ensure_ascii=False) + ": "
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        return self._cached(values.parse_attribute, lambda value: prefix + dumps(value), True)

    def _date(self, cached: Callable[[list[str]], list[str]]
              ) -> Callable[[list[str]], list[str]]:
        """ISO dates (their own COPY text) checked by numpy; else ``cached``."""

        def handle(cells: list[str]) -> list[str]:
            stripped = list(map(str.strip, cells))
            if not self.date_format and _iso_days(stripped, dates_only=True) is not None:
                return stripped
            return cached(cells)

        return handle

    def _datetime(self, cells: list[str]) -> list[str]:
        """Naive ISO times (numpy, then pandas for the shop's zone) as local time with
        its UTC offset; any other cell, and any time a zone change makes ambiguous or
        skips, by the row parser's function."""
        stripped = list(map(str.strip, cells))
        naive = None if self.date_format else _iso_days(stripped, dates_only=False)
        if naive is None:
            column = stripped
            rest = [i for i, value in enumerate(column) if value]
        else:
            local = pd.DatetimeIndex(naive).tz_localize(self.tz, ambiguous="NaT",
                                                        nonexistent="NaT").as_unit("s")
            missing = local.isna()
            offsets = naive.astype(np.int64) - local.asi8
            found = offsets[~missing]
            rest = [i for i in np.flatnonzero(missing).tolist() if stripped[i]]
            lengths = set(map(len, stripped))
            if len(found) and (found == found[0]).all() and lengths <= {0, 16, 19}:
                suffix = _offset_text(int(found[0]))
                column = (suffix + _SEP).join(stripped).split(_SEP)
                column[-1] += suffix
                if 0 in lengths:
                    for i in np.flatnonzero(missing).tolist():
                        column[i] = ""
            else:
                distinct, which = np.unique(offsets, return_inverse=True)
                texts = np.array([_offset_text(int(o)) for o in distinct.tolist()], dtype=object)
                suffixes = texts[which].tolist()
                column = [value + (" 00:00" if len(value) == 10 else "") + suffix
                          if value else "" for value, suffix in zip(stripped, suffixes,
                                                                     strict=True)]
        if rest:
            parse = values.datetime_parser(self.date_format, self.tz)
            for i in rest:
                raw = cells[i].strip()
                try:
                    column[i] = parse(raw).isoformat()
                except ValueError:
                    column[i] = "" if raw in NO_VALUE else _BAD
        return column

    # --- a block -------------------------------------------------------------------

    def parse(self, chunk: RecordChunk) -> ColumnRows:
        """The block's valid rows; the row parser reports the bad ones."""
        lines = chunk.lines
        count = len(lines)
        width = self.width
        slow: set[int] = set()
        raw = chunk.columns
        if raw is None or len(raw) != width or chunk.undecodable:
            records = chunk.records
            if chunk.undecodable:
                slow.update(i for i, flag in enumerate(chunk.undecodable) if flag)
            odd = [i for i, record in enumerate(records) if len(record) != width]
            table = records
            if odd:  # padded or refused by the row parser
                slow.update(odd)
                filler = [""] * width
                table = [filler if len(record) != width else record for record in records]
            raw = ([list(column) for column in zip(*table, strict=True)] if table
                   else [[] for _ in range(width)])
        fields: dict[str, list[str]] = {}
        for index, name, handle in self.plan:
            column = handle(raw[index])
            if _BAD in column:
                slow.update(i for i, value in enumerate(column) if value == _BAD)
            fields[name] = column if column is not raw[index] else list(column)
        fragments = [handle(raw[index]) for index, handle in self.attribute_plan]
        for column in fragments:
            if _BAD in column:
                slow.update(i for i, value in enumerate(column) if value == _BAD)
        if fragments:  # each part is ', "key": value' or empty
            joined = map("".join, zip(*fragments, strict=True))
            attributes = ["{" + parts[2:] + "}" for parts in joined]
        else:
            attributes = ["{}"] * count
        external_ids, emails = fields.get("external_id"), fields.get("email")
        if external_ids is None or emails is None:
            groups = list(external_ids if emails is None else emails)
        else:
            groups = [ext or email for ext, email in zip(external_ids, emails, strict=True)]
        if "" in groups:  # neither key: the row parser says so
            slow.update(i for i, group in enumerate(groups) if not group)

        parsed: list[ParsedRow | None] = [None] * count
        dropped: set[int] = set()
        flags = chunk.undecodable
        records = None if raw is chunk.columns else chunk.records  # the cells as read
        for i in sorted(slow):
            record = records[i] if records is not None else [column[i] for column in raw]
            row = self.row_parser.parse(lines[i], record, bool(flags and flags[i]))
            if row is None:
                dropped.add(i)
                continue
            parsed[i] = row
            groups[i] = row.group
            for column in fields.values():
                column[i] = ""
            attributes[i] = "{}"
        result = ColumnRows(lines, raw, groups, parsed, fields, attributes,
                            self.row_parser.parse)
        if dropped:
            result = _select(result, [i for i in range(count) if i not in dropped])
        return result


def _select(rows: ColumnRows, keep: list[int]) -> ColumnRows:
    def pick(column: list) -> list:
        return [column[i] for i in keep]

    return ColumnRows(pick(rows.lines), [pick(column) for column in rows.raw],
                      pick(rows.groups), pick(rows.parsed),
                      {k: pick(v) for k, v in rows.fields.items()},
                      pick(rows.attributes), rows.parse)
