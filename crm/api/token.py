"""``POST /api/token/``: a user's API token for their username and password."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken

from .fields import StrictTypesMixin
from .parsers import LimitedJSONParser
from .schema import RulecastAutoSchema
from .throttling import current_throttles


class CredentialsSerializer(StrictTypesMixin, AuthTokenSerializer):
    """A username and a password, as JSON strings."""


class TokenView(ObtainAuthToken):
    """``POST /api/token/`` with a username and password: the user's API token.

    DRF's ``obtain_auth_token`` with the API's throttles (it has none of its own, which
    would let passwords be guessed at full speed) and documented errors.
    """

    authentication_classes = []  # the credentials are the body's username and password
    # JSON only, like the rest of the API (DRF's view also takes forms, and three request
    # content types make generated clients' token modules fail); size and depth limited.
    parser_classes = [LimitedJSONParser]
    serializer_class = CredentialsSerializer
    schema = RulecastAutoSchema()

    def get_throttles(self) -> list:
        return current_throttles()

    @extend_schema(request=CredentialsSerializer, responses={200: inline_serializer(
        "Token", {"token": serializers.CharField(
            help_text="Send it as `Authorization: Token <token>`.")},
    )})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
