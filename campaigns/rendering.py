"""Turn a campaign's templates into one message per customer.

The templates are compiled once per batch (``compile_campaign``); each message
is then rendered with the customer, their segment and any features the
templates name, its http(s) links rewritten to signed click URLs, an open pixel
and (when the body has none) a visible unsubscribe link added, and the
``List-Unsubscribe`` headers set.
"""

from __future__ import annotations

import html as html_lib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Template
from django.utils.translation import gettext

from . import mime, tokens

HREF_RE = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
FEATURE_RE = re.compile(r"\bfeatures\.([a-z_][a-z0-9_]*)")
BODY_END_RE = re.compile(r"</body\s*>", re.IGNORECASE)


def extract_links(html_source: str) -> list[str]:
    """The distinct static http(s) URLs of ``<a href>`` in a template, in order."""
    found: list[str] = []
    for match in HREF_RE.finditer(html_source):
        url = html_lib.unescape(match.group(3)).strip()
        if url.lower().startswith(("http://", "https://")) and "{" not in url:
            if url not in found:
                found.append(url)
    return found


def feature_names(*sources: str) -> list[str]:
    """Feature names the templates use as ``features.<name>``."""
    names: list[str] = []
    for source in sources:
        for name in FEATURE_RE.findall(source):
            if name not in names:
                names.append(name)
    return names


def _with_footer(source: str, footer: str, *, html: bool) -> str:
    ends = list(BODY_END_RE.finditer(source)) if html else []
    if ends:
        at = ends[-1].start()
        return source[:at] + footer + source[at:]
    return source + footer


def _html_source(body: str, *, pixel: bool) -> str:
    footer = ""
    if "unsubscribe_url" not in body:
        footer += (
            '\n<p style="font-size:12px;color:#666666">'
            f'<a href="{{{{ unsubscribe_url }}}}">{gettext("Unsubscribe")}</a></p>'
        )
    if pixel:
        footer += ('\n<img src="{{ open_url }}" width="1" height="1" alt="" '
                   'style="display:block;border:0">')
    return _with_footer(body, footer, html=True) if footer else body


def _text_source(body: str) -> str:
    if "unsubscribe_url" in body:
        return body
    return body.rstrip("\n") + "\n\n--\n" + gettext("Unsubscribe") + ": {{ unsubscribe_url }}\n"


def _plain(source: str) -> Template:
    return Template("{% autoescape off %}" + source + "{% endautoescape %}")


@dataclass(frozen=True)
class CompiledCampaign:
    """A campaign's templates compiled once, with what every message of it shares."""

    campaign_id: int
    subject: Template
    html: Template
    text: Template
    from_email: str
    reply_to: tuple[str, ...]
    message_id_domain: str
    links: Mapping[str, int] = field(default_factory=dict)
    features: tuple[str, ...] = ()
    segments: Mapping[int, Any] = field(default_factory=dict)
    campaign_name: str = ""


def compile_campaign(
    campaign, *, links: Mapping[str, int] | None = None, tracking: bool = True,
    segments: Mapping[int, Any] | None = None,
) -> CompiledCampaign:
    """Compile ``campaign``'s templates (TemplateSyntaxError when one is invalid)."""
    from .conf import campaigns_settings

    from_email = campaign.from_email or settings.DEFAULT_FROM_EMAIL
    domain = campaigns_settings.MESSAGE_ID_DOMAIN or (
        parseaddr(from_email)[1].rpartition("@")[2] or "localhost"
    )
    return CompiledCampaign(
        campaign_id=campaign.pk or 0,
        subject=_plain(campaign.subject),
        html=Template(_html_source(campaign.html_body, pixel=tracking)),
        text=_plain(_text_source(campaign.text_body)),
        from_email=from_email,
        reply_to=(campaign.reply_to,) if campaign.reply_to else (),
        message_id_domain=domain,
        links=dict(links or {}),
        features=tuple(feature_names(campaign.subject, campaign.html_body, campaign.text_body)),
        segments=dict(segments or {}),
        campaign_name=campaign.name,
    )


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _track_links(html: str, links: Mapping[str, int], urls: tokens.DeliveryUrls) -> str:
    if not links:
        return html

    def replace(match: re.Match) -> str:
        link_id = links.get(html_lib.unescape(match.group(3)).strip())
        if link_id is None:
            return match.group(0)
        url = html_lib.escape(urls.click(link_id))
        return f"{match.group(1)}{match.group(2)}{url}{match.group(2)}"

    return HREF_RE.sub(replace, html)


def render(
    compiled: CompiledCampaign, *, customer, address: str, segment=None,
    features: Mapping[str, float | None] | None = None,
    urls: tokens.DeliveryUrls | None = None, unsubscribe_url: str = "",
) -> Rendered:
    """Render the three parts for one customer; tracked when the delivery's ``urls`` are given.

    Without ``urls`` (previews, tests) links are left as they are, there is no open
    pixel, and ``unsubscribe_url`` is used.
    """
    if urls is not None:
        unsubscribe_url = urls.unsubscribe
    context = {
        "customer": customer,
        "name": getattr(customer, "name", "") or "",
        "email": address,
        "segment": segment,
        "features": dict(features or {}),
        "campaign": {"name": compiled.campaign_name},
        "unsubscribe_url": unsubscribe_url,
        "open_url": urls.open if urls else "",
    }
    subject = " ".join(compiled.subject.render(Context(context, autoescape=False)).split())
    text = compiled.text.render(Context(context, autoescape=False))
    html = compiled.html.render(Context(context))
    if urls is not None:
        html = _track_links(html, compiled.links, urls)
    return Rendered(subject=subject, text=text, html=html)


class Unfolded:
    """A header value written on one line as it is (a Header-like object for the compat32
    generator). For values with no whitespace to fold at, such as List-Unsubscribe's
    ``<url>``: folding would put the whole value on a continuation line, which parsers
    read with a leading space. Lines may be 998 bytes long."""

    def __init__(self, value: str) -> None:
        self.value = value

    def encode(self, splitchars: str = "", maxlinelen: int | None = None,
               linesep: str = "\n") -> str:
        return self.value

    def __str__(self) -> str:
        return self.value


def header_value(name: str, value: str) -> Header:
    """``value`` as a Header folded after ``name: `` (RFC 2047 words when not ASCII), so
    that a parser reads exactly ``value`` back (Django's own encoding ignores the name's
    length: a long subject starts with a fold, read as a leading space)."""
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name)


class CampaignMessage(EmailMultiAlternatives):
    """An EmailMultiAlternatives that picks its own MIME boundary and folds its Subject
    and List-Unsubscribe so parsers read them exactly.

    Left unset, the standard library's generator draws a random boundary and compiles
    a fresh regular expression per message to check the text does not contain it,
    about a third of the cost of building the message. A random boundary checked with
    a plain substring search is as safe and cheap.
    """

    prebuilt: bytes | None = None  # set when assembled from the batch's skeleton (mime)

    def message(self, *args, **kwargs):
        if self.prebuilt is not None:
            return mime.Prebuilt(self.prebuilt)
        msg = super().message(*args, **kwargs)
        if "Subject" in msg:
            msg.replace_header("Subject", header_value("Subject", str(self.subject)))
        unsubscribe = self.extra_headers.get("List-Unsubscribe")
        if unsubscribe and "List-Unsubscribe" in msg:
            msg.replace_header("List-Unsubscribe", Unfolded(unsubscribe))
        if msg.is_multipart() and msg.get_boundary() is None:
            parts = [self.body, *(content for content, _ in self.alternatives)]
            while True:
                boundary = f"=_rulecast_{secrets.token_hex(16)}"
                if not any(boundary in part for part in parts if isinstance(part, str)):
                    break
            msg.set_boundary(boundary)
        return msg


def build_message(
    compiled: CompiledCampaign, rendered: Rendered, *, address: str, message_id: str,
    unsubscribe_url: str, connection=None, skeleton: mime.Skeleton | None = None,
    date: str | None = None,
) -> CampaignMessage:
    """The email: text and HTML parts, Message-ID and RFC 8058 one-click unsubscribe headers.

    With the batch's ``skeleton`` (see ``mime``) its bytes are assembled from it
    when they can be; Django's SMTP backend then sends them as they are.
    """
    extra = {"Date": date} if date else {}
    message = CampaignMessage(
        subject=rendered.subject, body=rendered.text, from_email=compiled.from_email,
        to=[address], reply_to=list(compiled.reply_to), connection=connection,
        headers={
            **extra,
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    if skeleton is not None:
        message.prebuilt = skeleton.fill(
            subject=rendered.subject, to=address, message_id=message_id,
            unsubscribe_url=unsubscribe_url, text=rendered.text, html=rendered.html,
        )
    return message


def skeleton_for(compiled: CompiledCampaign) -> mime.Skeleton:
    """The batch's MIME skeleton: this campaign's message with placeholders."""

    def build(*, subject, to, date, message_id, unsubscribe, text, html):
        return build_message(compiled, Rendered(subject=subject, text=text, html=html),
                             address=to, message_id=message_id, unsubscribe_url=unsubscribe,
                             date=date)

    return mime.Skeleton(build)


def new_message_id(compiled: CompiledCampaign, delivery_id: int) -> str:
    """A unique Message-ID naming the campaign and delivery."""
    return make_msgid(idstring=f"rc{compiled.campaign_id}.{delivery_id}",
                      domain=compiled.message_id_domain)


def features_of(
    customer_ids: Sequence[int], names: Sequence[str], *, now: datetime,
) -> dict[int, dict[str, float | None]]:
    """The named features of some customers, through segmentation's feature registry."""
    if not names or not customer_ids:
        return {}
    from segmentation.features import registry
    from segmentation.features.compute import compute_features

    known = [name for name in names if name in registry]
    if not known:
        return {}
    frame = compute_features(now=now, names=known, customer_ids=list(customer_ids))
    frame = frame.astype(object).where(frame.notna(), None)
    return {int(index): row for index, row in frame.to_dict("index").items()}
