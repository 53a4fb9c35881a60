"""Public pages of crm (no login): the double opt-in sign-up."""

from django.urls import path

from .signup import views

app_name = "crm"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/confirm/<str:token>/", views.confirm, name="signup_confirm"),
]
