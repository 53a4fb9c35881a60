"""Public pages of email recipients (no login): open pixel, click redirect, unsubscribe.

Also mounts django-anymail's tracking webhooks (bounces, complaints) under ``mail/anymail/``.
"""

from django.urls import include, path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("mail/o/<str:token>/p.gif", views.open_pixel, name="open"),
    path("mail/c/<int:link_id>/<str:token>/", views.click, name="click"),
    path("mail/u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("mail/anymail/", include("anymail.urls")),
]
