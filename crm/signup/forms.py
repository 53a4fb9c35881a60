from django import forms
from django.utils.translation import gettext_lazy as _


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    agree = forms.BooleanField(
        label=_("Yes, send me news and offers by email. I can unsubscribe at any time."),
    )
