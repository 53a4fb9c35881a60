"""Open a CSV file as a spreadsheet wrote it: find its encoding and delimiter, stream rows.

The file is never held whole: a first chunk is read to sniff the encoding and the
delimiter, then records are decoded and parsed as they are consumed.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from ..conf import crm_settings

SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
#: The delimiter of a file whose columns are separated by runs of spaces (or tabs), as
#: fixed-width and legacy exports are: read as tab-separated, the runs made one tab.
WHITESPACE = " "
# Characters read at a time once the header is read: a block holds thousands of records.
BLOCK_CHARS = 256 * 1024


class ImportFileError(ValueError):
    """The file cannot be imported at all (no header, a mapped column missing...)."""


class _PrefixedStream(io.RawIOBase):
    """A binary stream that first returns the bytes already read for sniffing."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# Undecodable bytes become U+FFFD; this counter tells the reader to look for them.
_decode_errors = [0]


def _replace_and_count(error: UnicodeDecodeError) -> tuple[str, int]:
    _decode_errors[0] += 1
    return "\ufffd", error.end


codecs.register_error("rulecast_import", _replace_and_count)


def sniff_encoding(head: bytes, at_end: bool, candidates: Sequence[str] = ("gb18030", "cp1252")
                   ) -> str:
    """The encoding of a file from its first chunk.

    A BOM says it; else UTF-8 if the chunk decodes strictly; else the candidate that
    charset-normalizer finds the least chaotic (by default GB18030, a superset of GBK,
    and Windows-1252, a superset of Latin-1: what Chinese and Western spreadsheets
    save). Raises :class:`ImportFileError` when none decodes the chunk: a binary file,
    or an encoding to give explicitly.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_end)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    from charset_normalizer import from_bytes

    if not at_end:  # a multi-byte character may be cut at the chunk's end
        head = head[: head.rfind(b"\n") + 1] or head
    best = from_bytes(head, cp_isolation=list(candidates)).best()
    if best is None:
        raise ImportFileError(
            "the file is not text in UTF-8 or " + " / ".join(candidates)
            + " (give its encoding, or save it as UTF-8 CSV)"
        )
    return codecs.lookup(best.encoding).name


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon, tab or pipe: csv.Sniffer, checked against the header line."""
    lines = sample.splitlines()
    header = lines[0] if lines else ""
    complete = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    try:
        delimiter = csv.Sniffer().sniff(complete, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and delimiter in header:
        return delimiter
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=counts.get)
    if counts[best]:
        return best
    # No delimiter character at all: columns apart by runs of spaces when every line
    # splits into the same number of them (a one-column file stays one column).
    whole = lines if sample.endswith(("\n", "\r")) else lines[:-1] or lines
    widths = {len(_SPACED_CELL.findall(line)) for line in whole if line.strip()}
    return WHITESPACE if len(widths) == 1 and widths.pop() > 1 else ","


_SPACE_RUNS = re.compile(r"[ \t]+")
_SPACE_EDGES = re.compile(r"^[ \t]+|[ \t]+(?=\r?\n|\Z)", re.MULTILINE)
# A cell of a space-separated line: a quoted value (its spaces kept, "" a quote) or a run
# of other characters.
_QUOTED = r'"(?:[^"\n]|"")*"'
_SPACED_CELL = re.compile(rf'{_QUOTED}|[^ \t"]+|"')
_QUOTED_OR_SPACES = re.compile(rf"({_QUOTED})|[ \t]+")


def _tabbed(text: str) -> str:
    """Lines of space-separated columns as tab-separated: spaces at a line's ends go,
    each run of spaces and tabs inside becomes one tab, but inside double quotes
    (``"Anna Smith"``, read as one cell by the csv module)."""
    text = _SPACE_EDGES.sub("", text)
    if '"' not in text:
        return _SPACE_RUNS.sub("\t", text)
    return _QUOTED_OR_SPACES.sub(lambda match: match.group(1) or "\t", text)


class _SpaceSeparated(io.TextIOBase):
    """A text stream of space-separated columns, read as tab-separated (:func:`_tabbed`).
    Reads end at a line's end, so that a run of spaces is never cut in two."""

    def __init__(self, text: io.TextIOBase) -> None:
        self._text = text

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        block = self._text.read(size)
        if block and block[-1] != "\n":
            block += self._text.readline()
        return _tabbed(block)

    def readline(self, size: int | None = -1) -> str:
        return _tabbed(self._text.readline())


_DATA_CELL = re.compile(r"[+-]?[\d.,:/ T+-]*\d[\d.,:/ T+-]*")
#: A date (YYYYMMDD, ISO with an optional time, d/m/y) or a number with decimals: what a
#: record holds and a header line never does.
DATE_CELL = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                       r"|\d{4}[-/]\d\d[-/]\d\d(?:[ T]\d\d:\d\d(?::\d\d)?)?"
                       r"|\d{1,2}/\d{1,2}/\d{2,4}")
DECIMAL_CELL = re.compile(r"[+-]?\d*\.\d+")


def looks_like_data(cells: list[str]) -> bool:
    """Whether a first line is a record rather than a header: two cells or more, each
    a number, a date or a time, or one of them a date or a number with decimals."""
    values = [cell.strip() for cell in cells]
    return len(values) > 1 and (
        all(_DATA_CELL.fullmatch(value) for value in values)
        or any(DATE_CELL.fullmatch(value) or DECIMAL_CELL.fullmatch(value) for value in values))


class RecordChunk:
    """Consecutive records of a file: their line numbers and cells, given by record
    (``records``) or, when every record has the same number of cells, by column
    (``columns``); ``undecodable`` tells which records hold bytes that were not valid
    in the file's encoding (None: none)."""

    __slots__ = ("_columns", "_records", "lines", "undecodable")

    def __init__(self, lines: list[int], records: list[list[str]] | None = None,
                 undecodable: list[bool] | None = None,
                 columns: list[list[str]] | None = None) -> None:
        self.lines = lines
        self._records = records
        self._columns = columns
        self.undecodable = undecodable

    @property
    def records(self) -> list[list[str]]:
        if self._records is None:
            self._records = [list(cells) for cells in zip(*self._columns, strict=True)]
        return self._records

    @property
    def columns(self) -> list[list[str]] | None:
        """The cells by column, when the records are all as wide."""
        return self._columns

    def __iter__(self) -> Iterator[tuple[int, list[str], bool]]:
        flags = self.undecodable or itertools.repeat(False)
        return zip(self.lines, self.records, flags, strict=False)


@dataclass
class CsvFile:
    """A CSV file being read: its header, then its records.

    Each record is ``(line number, cells, undecodable)``; the line is where the record
    starts (the header is line 1), ``undecodable`` tells that some bytes were not valid
    in the file's encoding. ``chunks`` gives the same records a block at a time (read
    one or the other).
    """

    header: list[str]
    chunks: Iterator[RecordChunk]
    encoding: str
    delimiter: str
    #: False when the first line is already a record: ``header`` then names the columns
    #: (given, or ``column_1``...) and ``sample`` holds the first records, to name them by.
    header_line: bool = True
    sample: list[list[str]] = field(default_factory=list)
    rows: Iterator[tuple[int, list[str], bool]] = field(init=False)

    def __post_init__(self) -> None:
        self.rows = itertools.chain.from_iterable(self.chunks)


def open_csv(
    stream: BinaryIO, *, encoding: str | None = None, delimiter: str | None = None,
    header: Sequence[str] | None = None,
) -> CsvFile:
    """Open a binary stream as CSV, sniffing what is not given.

    ``header``: the file has no header line and these are its columns' names. Without
    it, a first line that :func:`looks_like_data` is taken for a record too (its
    columns named ``column_1``...; :attr:`CsvFile.sample` holds the first records).
    """
    head = stream.read(SNIFF_BYTES)
    if isinstance(head, str):
        raise ImportFileError("open the file in binary mode")
    at_end = len(head) < SNIFF_BYTES
    encoding = encoding or sniff_encoding(head, at_end, crm_settings.IMPORT_ENCODINGS)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportFileError(f"unknown encoding {encoding!r}") from None
    errors_before = _decode_errors[0]  # the header's reading decodes the first rows too
    text = io.TextIOWrapper(
        io.BufferedReader(_PrefixedStream(head, stream), buffer_size=SNIFF_BYTES),
        encoding=encoding, errors="rulecast_import", newline="",
    )
    sample = codecs.decode(head, encoding, "replace").lstrip("\ufeff")
    if not delimiter:
        delimiter = sniff_delimiter(sample)
    cells_apart = delimiter
    if delimiter == WHITESPACE:
        text, cells_apart = _SpaceSeparated(text), "\t"
    reader = csv.reader(text, delimiter=cells_apart)
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"line 1: not a CSV header ({exc})") from None
    if not first or not any(cell.strip() for cell in first):
        raise ImportFileError("the file is empty or has no header line")
    first = [cell.strip().lstrip("\ufeff") for cell in first]
    chunks = _chunks(text, reader.line_num, cells_apart, errors_before)
    if header is None and not looks_like_data(first):
        return CsvFile(first, chunks, encoding, delimiter)
    # No header line: the first line is line 1's record.
    records = itertools.chain([RecordChunk([1], [first])], chunks)
    names = list(header) if header is not None else [
        f"column_{i}" for i in range(1, len(first) + 1)]
    if len(names) != len(first):
        raise ImportFileError(
            f"{len(names)} column names given for a file of {len(first)} columns "
            f"(line 1: {' '.join(first)})")
    lines = sample.splitlines()
    if not at_end:  # the sniffed chunk's last line may be cut
        lines = lines[:-1] or lines
    if delimiter == WHITESPACE:
        lines = [_tabbed(line) for line in lines]
    rows = [cells for cells in csv.reader(lines, delimiter=cells_apart) if any(cells)]
    return CsvFile(names, records, encoding, delimiter, header_line=False, sample=rows)


class MalformedCsv(Exception):
    """A record the csv module cannot parse; reading stops there."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


_MARK = "\x01"  # marks where a line began once a block is split into cells


def _plain_block(block: str, consumed: int, delimiter: str) -> tuple[int, RecordChunk]:
    """A block without quotes: one record per line, cut at each delimiter. The whole
    block is split at once (lines joined by the delimiter, each line's first cell
    marked); when every line has as many cells, the cells are taken by column.
    Returns the lines consumed so far and the chunk. (The csv module's limit on a
    field's length, 128 KiB, is not checked here: such a cell is then refused as too
    long for its field, or kept as an attribute, instead of ending the reading.)"""
    newline = "\r\n" if "\r" in block else "\n"
    body = block[:-len(newline)] if block.endswith(newline) else block
    count = body.count(newline) + 1
    numbers = list(range(consumed + 1, consumed + 1 + count))
    cells = body.replace(newline, delimiter + _MARK).split(delimiter)
    width, odd = divmod(len(cells), count)
    if not odd:
        first = cells[0::width]
        if "".join(first).count(_MARK) == count - 1:  # each line's first cell is there
            first[1:] = [cell[1:] for cell in first[1:]]
            columns = [first, *(cells[i::width] for i in range(1, width))]
            if "" in first:
                _drop_blank_columns(numbers, columns)
            return consumed + count, RecordChunk(numbers, columns=columns)
    lines = body.split(newline)
    records = [line.split(delimiter) for line in lines]
    # Blank lines and lines of delimiters only are no record (as the csv module reads).
    blank = {i for i, line in enumerate(lines) if not line.strip(delimiter)}
    if blank:
        keep = [i for i in range(count) if i not in blank]
        numbers, records = [numbers[i] for i in keep], [records[i] for i in keep]
    return consumed + count, RecordChunk(numbers, records)


def _drop_blank_columns(numbers: list[int], columns: list[list[str]]) -> None:
    """Remove the records whose cells are all empty (the csv module's blank lines)."""
    blank = {i for i, cells in enumerate(zip(*columns, strict=True)) if not any(cells)}
    if blank:
        keep = [i for i in range(len(numbers)) if i not in blank]
        numbers[:] = [numbers[i] for i in keep]
        for column in columns:
            column[:] = [column[i] for i in keep]


def _chunks(text: io.TextIOBase, consumed: int, delimiter: str, errors_before: int
            ) -> Iterator[RecordChunk]:
    """The records after the header (``consumed`` lines), a block of text at a time.

    A block without quotes, NUL characters or bytes that did not decode, whose lines
    all end alike (LF or CRLF), is one record per line, split on the delimiter: exactly
    what the csv module gives for it, at a fraction of the cost. Any other block is read by
    the csv module, line numbers from its count of lines; a quoted field running past
    the block's end is read on from the file. ``errors_before`` is the count of
    undecodable bytes before the file was opened.
    """
    while True:
        block = text.read(BLOCK_CHARS)
        if not block:
            return
        if block[-1] != "\n":
            block += text.readline()
        dirty = _decode_errors[0] != errors_before
        if not dirty and '"' not in block and "\x00" not in block and _MARK not in block and (
            "\r" not in block or block.count("\r") == block.count("\r\n") == block.count("\n")
        ):
            consumed, chunk = _plain_block(block, consumed, delimiter)
            if chunk.lines:
                yield chunk
            continue
        lines_in_block = sum(1 for _ in io.StringIO(block, newline=""))
        reader = csv.reader(itertools.chain(io.StringIO(block, newline=""), text),
                            delimiter=delimiter)
        numbers, records, flags = [], [], []
        try:
            while reader.line_num < lines_in_block:
                line = consumed + reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    raise MalformedCsv(
                        line, f"malformed CSV ({exc}); reading stopped here") from None
                if not cells or not any(cells):
                    continue
                numbers.append(line)
                records.append(cells)
                flags.append(dirty and any("\ufffd" in cell for cell in cells))
        except MalformedCsv:
            if numbers:
                yield RecordChunk(numbers, records, flags)
            raise
        consumed += reader.line_num
        yield RecordChunk(numbers, records, flags)
