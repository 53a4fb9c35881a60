"""Messages assembled from the batch's skeleton equal the ones Django builds."""

from email import message_from_bytes, policy

import pytest

from campaigns import rendering
from campaigns.models import Campaign
from crm.models import Customer

LONG_LINE = "x" * 1200


def both(subject, text, html, *, address="c1@example.com", from_email="Shop <news@shop.cn>"):
    campaign = Campaign(pk=7, name="c", subject=subject, text_body=text, html_body=html,
                        from_email=from_email, reply_to="help@shop.cn")
    compiled = rendering.compile_campaign(campaign)
    rendered = rendering.render(compiled, customer=Customer(name="张三"), address=address,
                                unsubscribe_url="https://shop.cn/mail/u/1.abc/")
    args = {"address": address, "message_id": "<rc7.1.ab@shop.cn>",
            "unsubscribe_url": "https://shop.cn/mail/u/1.abc/", "date": "Mon, 01 Jun 2026"}
    fast = rendering.build_message(compiled, rendered, **args,
                                   skeleton=rendering.skeleton_for(compiled))
    slow = rendering.build_message(compiled, rendered, **args)
    return fast.prebuilt, slow.message().as_bytes(linesep="\r\n")


def parsed(data: bytes) -> dict:
    message = message_from_bytes(data, policy=policy.default)
    headers = {k: str(v).strip() for k, v in message.items()
               if k.lower() not in {"content-type", "date"}}
    return {
        "headers": headers, "date": message["Date"] is not None,
        "text": message.get_body(("plain",)).get_content(),
        "html": message.get_body(("html",)).get_content(),
        "types": [part.get_content_type() for part in message.walk()],
    }


@pytest.mark.parametrize(("subject", "text", "html"), [
    ("Hi {{ name }}", "Hello {{ name }}\nline two\n", "<p>Hello {{ name }}</p>"),
    ("Spring sale", "ascii only", "<p>ascii</p>\n<p>two</p>"),
    ("{{ name }}, a very long subject that goes on and on past the fold of seventy-eight",
     "x", "<p>y</p>"),
    ("春季大促 {{ name }}", "你好 {{ name }}\r\n第二行", "<p>你好</p>"),
])
def test_skeleton_messages_equal_django_messages(subject, text, html):
    fast, slow = both(subject, text, html)
    assert fast is not None
    assert parsed(fast) == parsed(slow)
    assert all(len(line) <= 998 for line in fast.split(b"\r\n"))
    assert b"\n" not in fast.replace(b"\r\n", b"")


def test_what_the_skeleton_cannot_do_is_left_to_django():
    assert both("Hi", LONG_LINE, "<p>x</p>")[0] is None  # quoted-printable needed
    assert both("Hi", "x", "<p>x</p>", address="müller@example.com")[0] is None
