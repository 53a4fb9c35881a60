"""Messages assembled from the batch's skeleton equal the ones Django builds, and a
standard parser (``email.policy.default``) reads their headers exactly as intended."""

from email import message_from_bytes, policy

import pytest
from django.core import mail

from campaigns import rendering
from campaigns.models import Campaign
from crm.models import Customer

LONG_LINE = "x" * 1200


UNSUBSCRIBE = "https://shop.cn/mail/u/1.abc/"
# A real token is three ids and a 43-character signature: a URL too long to fold.
LONG_UNSUBSCRIBE = ("https://newsletter.shop.example.cn/mail/u/"
                    "1234567.890.1234567.jMP9AHH1dZLl4boBHfxk7racxgaHO2BcGIumNDJsrxE/")
# Chinese subjects of 16 to 80 characters, with the brackets and punctuation shops use.
CHINESE = "【春季大促】全场商品限时五折优惠，会员专享额外礼品赠送活动火热进行中！" * 3


def both(subject, text, html, *, address="c1@example.com", from_email="Shop <news@shop.cn>",
         unsubscribe=UNSUBSCRIBE):
    campaign = Campaign(pk=7, name="c", subject=subject, text_body=text, html_body=html,
                        from_email=from_email, reply_to="help@shop.cn")
    compiled = rendering.compile_campaign(campaign)
    rendered = rendering.render(compiled, customer=Customer(name="张三"), address=address,
                                unsubscribe_url=unsubscribe)
    args = {"address": address, "message_id": "<rc7.1.ab@shop.cn>",
            "unsubscribe_url": unsubscribe, "date": "Mon, 01 Jun 2026"}
    fast = rendering.build_message(compiled, rendered, **args,
                                   skeleton=rendering.skeleton_for(compiled))
    slow = rendering.build_message(compiled, rendered, **args)
    return fast.prebuilt, slow.message().as_bytes(linesep="\r\n")


def parsed(data: bytes) -> dict:
    message = message_from_bytes(data, policy=policy.default)
    headers = {k: str(v) for k, v in message.items()
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


@pytest.mark.parametrize("length", [16, 17, 30, 31, 45, 60, 79, 80])
@pytest.mark.parametrize("unsubscribe", [UNSUBSCRIBE, LONG_UNSUBSCRIBE])
def test_long_chinese_subjects_parse_exactly_on_both_paths(length, unsubscribe):
    subject = CHINESE[:length]
    fast, slow = both(subject, "你好", "<p>你好</p>", unsubscribe=unsubscribe)
    assert fast is not None
    for data in (fast, slow):
        message = message_from_bytes(data, policy=policy.default)
        assert str(message["Subject"]) == subject
        assert str(message["List-Unsubscribe"]) == f"<{unsubscribe}>"
        assert all(len(line) <= 998 for line in data.split(b"\r\n"))


@pytest.mark.parametrize("subject", [
    "Spring sale", "A plain subject that is long enough to need folding somewhere past "
    "the seventy-eighth column of the line", CHINESE[:80] + " and English",
    " ".join(["Ünïcödé"] * 12),
])
def test_other_long_subjects_parse_exactly_on_both_paths(subject):
    for data in both(subject, "x", "<p>y</p>"):
        assert str(message_from_bytes(data, policy=policy.default)["Subject"]) == subject


@pytest.mark.django_db
@pytest.mark.parametrize("length", [16, 40, 80])
def test_a_test_send_has_the_exact_subject(length, make_segment, settings):
    """The test-send path (services.send_test) builds the message the Django way."""
    from campaigns import services
    from tests.campaigns.conftest import make_campaign, make_customers

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    campaign = make_campaign([make_segment(make_customers(1))], subject=CHINESE[:length],
                             test_address="qa@example.com")
    services.send_test(campaign=campaign)
    data = mail.outbox[-1].message().as_bytes(linesep="\r\n")
    message = message_from_bytes(data, policy=policy.default)
    prefix = "[Test] "
    assert str(message["Subject"]) == prefix + CHINESE[:length]
    assert str(message["List-Unsubscribe"]).startswith("<http")
