"""Open a CSV file as a spreadsheet wrote it: find its encoding and delimiter, stream rows.

The file is never held whole: a first chunk is read to sniff the encoding and the
delimiter, then records are decoded and parsed as they are consumed.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from ..conf import crm_settings

SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"


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
    return best if counts[best] else ","


@dataclass
class CsvFile:
    """A CSV file being read: its header, then its records.

    Each record is ``(line number, cells, undecodable)``; the line is where the record
    starts (the header is line 1), ``undecodable`` tells that some bytes were not valid
    in the file's encoding.
    """

    header: list[str]
    rows: Iterator[tuple[int, list[str], bool]]
    encoding: str
    delimiter: str


def open_csv(
    stream: BinaryIO, *, encoding: str | None = None, delimiter: str | None = None
) -> CsvFile:
    """Open a binary stream as CSV, sniffing what is not given."""
    head = stream.read(SNIFF_BYTES)
    if isinstance(head, str):
        raise ImportFileError("open the file in binary mode")
    at_end = len(head) < SNIFF_BYTES
    encoding = encoding or sniff_encoding(head, at_end, crm_settings.IMPORT_ENCODINGS)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportFileError(f"unknown encoding {encoding!r}") from None
    text = io.TextIOWrapper(
        io.BufferedReader(_PrefixedStream(head, stream), buffer_size=SNIFF_BYTES),
        encoding=encoding, errors="rulecast_import", newline="",
    )
    if not delimiter:
        sample = codecs.decode(head, encoding, "replace")
        delimiter = sniff_delimiter(sample.lstrip("\ufeff"))
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"line 1: not a CSV header ({exc})") from None
    if not header or not any(cell.strip() for cell in header):
        raise ImportFileError("the file is empty or has no header line")
    header = [cell.strip().lstrip("\ufeff") for cell in header]
    return CsvFile(header, _records(reader), encoding, delimiter)


class MalformedCsv(Exception):
    """A record the csv module cannot parse; reading stops there."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _records(reader) -> Iterator[tuple[int, list[str], bool]]:
    errors_before = _decode_errors[0]
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedCsv(line, f"malformed CSV ({exc}); reading stopped here") from None
        if not cells or not any(cells):
            continue
        undecodable = _decode_errors[0] != errors_before and any("\ufffd" in c for c in cells)
        yield line, cells, undecodable
