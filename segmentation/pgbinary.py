"""PostgreSQL's binary COPY format for fixed-width rows, built and parsed with numpy.

A row whose every field is a non-NULL fixed-width number (bigint, smallint,
double precision) has the same length in the binary format, so a whole COPY is
one numpy record array: no text to format or parse, no Python loop per row. A
million rows of nine numbers go either way in tens of milliseconds where CSV
takes a second. Callers keep the rows fixed-width: NaN for a missing double
(``COALESCE(x, 'NaN')``), a sentinel for a missing integer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["SIGNATURE", "pack", "unpack"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # no flags, no extension
_TRAILER = b"\xff\xff"


def _row_dtype(types: Sequence[np.dtype]) -> np.dtype:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, kind in enumerate(types):
        kind = np.dtype(kind)
        fields += [(f"l{i}", ">i4"), (f"v{i}", kind.newbyteorder(">").str)]
    return np.dtype(fields)


def pack(columns: Sequence[np.ndarray], types: Sequence[np.dtype]) -> bytes:
    """The binary COPY stream of rows made of ``columns`` (no NULLs), as ``types``."""
    dtype = _row_dtype(types)
    rows = np.empty(len(columns[0]) if columns else 0, dtype=dtype)
    rows["count"] = len(columns)
    for i, (column, kind) in enumerate(zip(columns, types, strict=True)):
        rows[f"l{i}"] = np.dtype(kind).itemsize
        rows[f"v{i}"] = column
    return _HEADER + rows.tobytes() + _TRAILER


def unpack(blocks: Iterable[bytes], types: Sequence[np.dtype]) -> list[np.ndarray]:
    """The columns (native byte order) of a binary COPY of fixed-width, non-NULL ``types``.

    Raises ValueError when the stream is not such rows (a NULL, another width).
    """
    data = bytearray()
    for block in blocks:
        data += block
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    start = len(SIGNATURE) + 4
    start += 4 + int.from_bytes(data[start:start + 4], "big")  # header extension
    if not data.endswith(_TRAILER):
        raise ValueError("binary COPY stream without its trailer")
    dtype = _row_dtype(types)
    body = memoryview(data)[start:len(data) - len(_TRAILER)]
    if len(body) % dtype.itemsize:
        raise ValueError("binary COPY rows are not all of the expected width (a NULL?)")
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and (
        (rows["count"] != len(types)).any()
        or any((rows[f"l{i}"] != np.dtype(kind).itemsize).any() for i, kind in enumerate(types))
    ):
        raise ValueError("binary COPY rows are not all of the expected width (a NULL?)")
    columns = [rows[f"v{i}"].astype(np.dtype(kind).newbyteorder("="))
               for i, kind in enumerate(types)]
    del rows, body
    return columns
