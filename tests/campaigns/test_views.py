"""Open pixel, click redirect and unsubscribe: signed tokens, nothing written on a bad one."""

import pytest
from django.test import Client
from django.urls import reverse

from campaigns import services
from campaigns.models import (
    Delivery,
    EventKind,
    Link,
    Suppression,
    SuppressionReason,
    TrackingEvent,
)
from campaigns.tokens import TokenData, UrlMaker, make_token, read_token
from crm.models import Customer
from tests.campaigns.conftest import make_campaign, make_customers

pytestmark = pytest.mark.django_db

ONE_CLICK = {"data": "List-Unsubscribe=One-Click",
             "content_type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Mail/1.0")


@pytest.fixture
def delivery(make_segment):
    campaign = make_campaign([make_segment(make_customers(2))])
    services.launch_campaign(campaign=campaign)
    return Delivery.objects.filter(campaign=campaign).order_by("pk").first()


def token_of(delivery: Delivery) -> str:
    """The token the sender puts in a delivery's links (campaign and customer inside)."""
    return make_token(delivery.pk, delivery.campaign_id, delivery.customer_id)


def edited(token: str) -> str:
    """The token with one character of the signature changed."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def nothing_written():
    return not TrackingEvent.objects.exists() and not Suppression.objects.exists() and \
        not Customer.objects.filter(unsubscribed_at__isnull=False).exists()


# --- open pixel ---


def test_the_pixel_records_an_open(client, delivery):
    response = client.get(reverse("campaigns:open", args=[make_token(delivery.pk)]))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    event = TrackingEvent.objects.get()
    assert (event.delivery_id, event.kind, event.user_agent) == (delivery.pk, EventKind.OPEN,
                                                                 "Mail/1.0")


@pytest.mark.parametrize("token", ["garbage", "123", "1.abc", "99999.x"])
def test_a_garbage_pixel_id_still_gets_a_gif_and_writes_nothing(client, delivery, token):
    response = client.get(reverse("campaigns:open", args=[token]))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert nothing_written()


def test_a_pixel_for_a_deleted_delivery_writes_nothing(client, delivery):
    token = make_token(delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).delete()
    assert client.get(reverse("campaigns:open", args=[token])).status_code == 200
    assert nothing_written()


# --- clicks ---


def test_a_click_redirects_to_the_stored_url(client, delivery):
    link = Link.objects.get(url="https://shop.example.com/new")
    response = client.get(reverse("campaigns:click", args=[link.pk, make_token(delivery.pk)]))
    assert response.status_code == 302 and response["Location"] == "https://shop.example.com/new"
    event = TrackingEvent.objects.get()
    assert (event.kind, event.link_id, event.delivery_id) == (EventKind.CLICK, link.pk,
                                                              delivery.pk)


def test_an_edited_click_url_is_404_and_records_nothing(client, delivery):
    link = Link.objects.first()
    token = make_token(delivery.pk)
    for url in (
        reverse("campaigns:click", args=[link.pk, edited(token)]),
        reverse("campaigns:click", args=[link.pk, token.split(".")[0]]),  # unsigned
        reverse("campaigns:click", args=[999999, token]),  # unknown link id
        reverse("campaigns:click", args=[999999, token_of(delivery)]),
        f"/mail/c/{link.pk}/{token}/?next=https://evil.example.com",
    ):
        response = client.get(url)
        if url.endswith("evil.example.com"):
            assert response["Location"] == link.url  # the query string is ignored
            TrackingEvent.objects.all().delete()
            continue
        assert response.status_code == 404, url
    assert nothing_written()


def test_a_link_of_another_campaign_is_404(client, delivery, make_segment):
    other = make_campaign([make_segment(make_customers(1, prefix="o"))],
                          html_body='<a href="https://elsewhere.example.com/">x</a>')
    services.launch_campaign(campaign=other)
    foreign = Link.objects.get(campaign=other)
    url = reverse("campaigns:click", args=[foreign.pk, make_token(delivery.pk)])
    assert client.get(url).status_code == 404
    assert nothing_written()


# --- unsubscribe ---


def test_get_shows_a_confirmation_and_changes_nothing(client, delivery):
    response = client.get(reverse("campaigns:unsubscribe", args=[make_token(delivery.pk)]))
    assert response.status_code == 200
    assert delivery.address in response.content.decode() and b"<form" in response.content
    assert nothing_written()


def test_one_click_post_unsubscribes_at_once_without_csrf(client, delivery):
    url = reverse("campaigns:unsubscribe", args=[make_token(delivery.pk)])
    response = client.post(url, **ONE_CLICK)
    assert response.status_code == 200  # not a redirect
    customer = Customer.objects.get(pk=delivery.customer_id)
    assert customer.unsubscribed_at is not None
    assert Suppression.objects.get().reason == SuppressionReason.UNSUBSCRIBED
    assert TrackingEvent.objects.get().kind == EventKind.UNSUBSCRIBE

    again = client.post(url, **ONE_CLICK)  # repeating it is harmless
    assert again.status_code == 200
    customer_again = Customer.objects.get(pk=delivery.customer_id)
    assert customer_again.unsubscribed_at == customer.unsubscribed_at
    assert Suppression.objects.count() == 1 and TrackingEvent.objects.count() == 1


def test_the_page_button_posts_too(client, delivery):
    url = reverse("campaigns:unsubscribe", args=[make_token(delivery.pk)])
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Customer.objects.get(pk=delivery.customer_id).unsubscribed_at is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_unsubscribe_token_is_404_and_changes_nothing(client, delivery, method):
    token = make_token(delivery.pk)
    for bad in (edited(token), str(delivery.pk), f"{delivery.pk}.forged", "x" * 40):
        response = getattr(client, method)(reverse("campaigns:unsubscribe", args=[bad]),
                                           **(ONE_CLICK if method == "post" else {}))
        assert response.status_code == 404
    assert nothing_written()


def test_the_preview_unsubscribe_link_is_inert(client, delivery):
    url = reverse("campaigns:unsubscribe", args=["preview"])
    assert client.post(url, **ONE_CLICK).status_code == 200
    assert nothing_written()


# --- links that outlive their delivery or campaign ---


def test_sent_links_carry_the_campaign_and_the_customer(delivery):
    urls = UrlMaker().for_delivery(delivery.pk, campaign_id=delivery.campaign_id,
                                   customer_id=delivery.customer_id)
    assert read_token(urls.token) == TokenData(delivery.pk, delivery.campaign_id,
                                               delivery.customer_id)
    assert urls.token == token_of(delivery)
    assert read_token(make_token(delivery.pk)) == TokenData(delivery.pk)  # older emails


def test_one_click_unsubscribe_after_the_campaign_is_archived(client, delivery):
    campaign = delivery.campaign
    services.cancel_campaign(campaign=campaign)
    services.archive_campaign(campaign=campaign)
    for token in (token_of(delivery), make_token(delivery.pk)):  # new and older emails
        response = client.post(reverse("campaigns:unsubscribe", args=[token]), **ONE_CLICK)
        assert response.status_code == 200
    assert Customer.objects.get(pk=delivery.customer_id).unsubscribed_at is not None
    assert Suppression.objects.get().address == delivery.address
    link = Link.objects.get(url="https://shop.example.com/new")
    click = client.get(reverse("campaigns:click", args=[link.pk, token_of(delivery)]))
    assert click["Location"] == "https://shop.example.com/new"


def test_one_click_unsubscribe_after_the_delivery_is_erased(client, delivery):
    token = token_of(delivery)
    Delivery.objects.filter(pk=delivery.pk).delete()
    url = reverse("campaigns:unsubscribe", args=[token])
    page = client.get(url)
    assert page.status_code == 200 and delivery.address in page.content.decode()
    assert client.post(url, **ONE_CLICK).status_code == 200
    assert Customer.objects.get(pk=delivery.customer_id).unsubscribed_at is not None
    assert Suppression.objects.get().reason == SuppressionReason.UNSUBSCRIBED
    assert Suppression.objects.get().address == delivery.address


def test_unsubscribe_after_delivery_and_customer_are_erased_answers_200(client, delivery):
    token = token_of(delivery)
    Customer.objects.filter(pk=delivery.customer_id).delete()  # cascades nothing needed
    Delivery.objects.filter(pk=delivery.pk).delete()
    assert client.post(reverse("campaigns:unsubscribe", args=[token]),
                       **ONE_CLICK).status_code == 200
    assert nothing_written()


def test_an_older_token_without_its_delivery_is_404(client, delivery):
    token = make_token(delivery.pk)  # holds only the delivery id: nothing else to go on
    Delivery.objects.filter(pk=delivery.pk).delete()
    response = client.post(reverse("campaigns:unsubscribe", args=[token]), **ONE_CLICK)
    assert response.status_code == 404
    assert nothing_written()


def test_a_click_of_an_erased_campaign_goes_to_the_shop(client, delivery, settings):
    settings.RULECAST_CAMPAIGNS = {"SHOP_URL": "https://shop.example.com/"}
    link = Link.objects.get(url="https://shop.example.com/new")
    tokens = [token_of(delivery), make_token(delivery.pk)]
    delivery.campaign.delete()  # erased: deliveries and links go with it
    for token in tokens:
        response = client.get(reverse("campaigns:click", args=[link.pk, token]))
        assert response.status_code == 302
        assert response["Location"] == "https://shop.example.com/"
    assert nothing_written()
    forged = client.get(reverse("campaigns:click", args=[link.pk, edited(tokens[0])]))
    assert forged.status_code == 404
