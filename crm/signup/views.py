"""Sign-up form, and the confirmation page of the emailed link (no login).

The link's GET only shows a button; consent is given by its POST, so mail scanners
that open links do not confirm anybody.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..privacy.signup import SignupError, confirm_signup, request_signup
from .forms import SignupForm


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        request_signup(
            email=form.cleaned_data["email"], name=form.cleaned_data["name"],
            confirm_url=lambda token: request.build_absolute_uri(
                reverse("crm:signup_confirm", args=[token])),
        )
        return render(request, "crm/signup/sent.html")
    return render(request, "crm/signup/form.html", {"form": form})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        return render(request, "crm/signup/confirm.html")
    try:
        confirm_signup(token=token)
    except SignupError as error:
        return render(request, "crm/signup/refused.html", {"reason": error.reason}, status=400)
    return render(request, "crm/signup/confirmed.html")
