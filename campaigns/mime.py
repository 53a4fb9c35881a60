"""Assemble a batch's messages from one MIME skeleton built by Django.

Building and serialising a MIME message with the standard library (header
objects, folding, the generator) is the largest cost of sending one, larger
than rendering and the database together. Every message of a batch has the same
structure and shares most headers, so Django builds one message per batch with
placeholders for what differs (subject, recipient, date, Message-ID,
List-Unsubscribe, the two bodies) and each message is that skeleton with the
placeholders replaced.

Only values that need no encoding beyond what is done here take this path:
ASCII header values without line breaks (a non-ASCII or long subject is encoded
with ``email.header.Header``, as Django does), a plain ASCII address, bodies
with no line over 998 bytes that do not contain the boundary. Anything else
returns None and the message is built by Django as usual. The bodies are sent
as UTF-8 ``8bit``, as Django sends them.
"""

from __future__ import annotations

import re
import secrets
from email.header import Header
from email.utils import formatdate

from django.conf import settings

PLAIN_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")
PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")
MAX_LINE = 998  # RFC 5322, bytes without CRLF


class Skeleton:
    """A message with placeholders, serialised once; ``fill`` makes each message's bytes."""

    FIELDS = ("subject", "to", "date", "message_id", "unsubscribe", "text", "html")

    def __init__(self, build) -> None:
        """``build(**values)`` returns a Django EmailMessage with those values in place."""
        tag = secrets.token_hex(6)
        self.placeholders = {
            "subject": f"rcsubject{tag}",
            "to": f"rcto{tag}@placeholder.invalid",
            "date": f"rcdate{tag}",
            "message_id": f"<rcmid{tag}@placeholder.invalid>",
            "unsubscribe": f"rcunsub{tag}",
            # Not ASCII, so the parts are declared 8bit like those of real messages.
            "text": f"rctext{tag}\u00e9",
            "html": f"rchtml{tag}\u00e9",
        }
        message = build(**self.placeholders).message()
        self.boundary = message.get_boundary()
        source = message.as_bytes(linesep="\r\n").decode("utf-8")
        pattern = "|".join(re.escape(value) for value in self.placeholders.values())
        pieces = re.split(f"({pattern})", source)
        by_value = {value: name for name, value in self.placeholders.items()}
        found = [by_value[piece] for piece in pieces[1::2]]
        self.usable = sorted(found) == sorted(self.FIELDS) and self.boundary is not None
        self.pieces = [by_value.get(piece, piece) if i % 2 else piece
                       for i, piece in enumerate(pieces)]

    def fill(self, *, subject: str, to: str, message_id: str, unsubscribe_url: str,
             text: str, html: str) -> bytes | None:
        """The message's bytes (CRLF), or None when it must be built the general way."""
        if not self.usable or not PLAIN_ADDRESS.match(to):
            return None
        headers = {"to": to, "message_id": message_id, "unsubscribe": unsubscribe_url}
        if not all(PRINTABLE_ASCII.match(v) and len(v) < 900 for v in headers.values()):
            return None
        values = {
            **headers,
            "subject": _subject(subject),
            "date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
            "text": _body(text, self.boundary),
            "html": _body(html, self.boundary),
        }
        if values["subject"] is None or values["text"] is None or values["html"] is None:
            return None
        return "".join(
            values[piece] if i % 2 else piece for i, piece in enumerate(self.pieces)
        ).encode("utf-8")


def _subject(subject: str) -> str | None:
    if "\r" in subject or "\n" in subject:
        return None
    if PRINTABLE_ASCII.match(subject):
        if len(subject) <= 70:
            return subject
        return Header(subject, header_name="Subject").encode(linesep="\r\n")  # folded
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")


def _body(body: str, boundary: str) -> str | None:
    if boundary in body:
        return None
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(len(line) > MAX_LINE // 4 and len(line.encode("utf-8")) > MAX_LINE
           for line in lines):
        return None  # Django would use quoted-printable
    return "\r\n".join(lines)


class Prebuilt:
    """What ``EmailMessage.message()`` returns when the bytes are already made.

    Django's SMTP backend only calls ``as_bytes(linesep="\\r\\n")`` on it.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self.data if linesep == "\r\n" else self.data.replace(b"\r\n", linesep.encode())

    def __bytes__(self) -> bytes:
        return self.as_bytes()
