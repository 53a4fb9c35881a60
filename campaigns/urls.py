"""Public pages of email recipients (no login): open pixel, click redirect, unsubscribe.

Also serves the configured email provider's tracking webhook (bounces, complaints) at
``mail/anymail/<esp>/tracking/`` (see ``campaigns.webhooks``); other providers are 404.
"""

from django.urls import path

from . import views, webhooks

app_name = "campaigns"

urlpatterns = [
    path("mail/o/<str:token>/p.gif", views.open_pixel, name="open"),
    path("mail/c/<int:link_id>/<str:token>/", views.click, name="click"),
    path("mail/u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("mail/anymail/<str:esp>/tracking/", webhooks.provider_webhook, name="webhook"),
]
