"""The API's privacy parts: consent recorded on customer writes, access export, erasure
(``DELETE`` is refused with a pointer to it), and the public double opt-in endpoints."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.fields import StrictTypesMixin
from ..api.schema import RulecastAutoSchema
from ..api.throttling import current_throttles
from .access import export_customer
from .consent import acting, record_consent_change
from .erasure import erase_customer
from .models import ConsentSource
from .signup import SignupError, confirm_signup, request_signup

ERASE_POINTER = ("Customers are not deleted: POST /api/v1/customers/{id}/erase/ erases their "
                 "personal data (orders and statistics stay, anonymous; the address is "
                 "suppressed).")


class ErasureSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    already_erased = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())


class CustomerPrivacyMixin:
    """For the customers viewset: put it before the bulk mixin."""

    action_permissions = {"bulk": ["add", "change"], "erase": ["delete"],
                          "personal_data": ["view"]}

    def perform_create(self, serializer) -> None:
        super().perform_create(serializer)
        record_consent_change(customer=serializer.instance, previous=None,
                              source=ConsentSource.API, actor=self.request.user)

    def perform_update(self, serializer) -> None:
        previous = serializer.instance.consent_status
        super().perform_update(serializer)
        record_consent_change(customer=serializer.instance, previous=previous,
                              source=ConsentSource.API, actor=self.request.user)

    def bulk(self, request, *args, **kwargs):
        with acting(source=ConsentSource.API, actor=request.user):
            return super().bulk(request, *args, **kwargs)

    @extend_schema(summary="Deleting is refused: erase instead",
                   responses={405: OpenApiResponse(description=ERASE_POINTER)})
    def destroy(self, request, *args, **kwargs):
        self.get_object()  # 404 for an unknown customer
        raise exceptions.MethodNotAllowed("DELETE", detail=ERASE_POINTER)

    @extend_schema(summary="Erase a customer's personal data (right to erasure)",
                   request=None, responses={200: ErasureSerializer})
    @action(detail=True, methods=["post"])
    def erase(self, request, *args, **kwargs):
        """Removes the customer's name, address and other personal fields, and the
        addresses, errors and user agents of their deliveries; orders, memberships and
        campaign statistics stay as an anonymous customer; the address is suppressed
        (kept only as a keyed hash). Repeating it changes nothing. Needs the delete
        permission."""
        report = erase_customer(customer=self.get_object(), actor=request.user)
        return Response(ErasureSerializer({
            "customer": report.customer_id, "already_erased": report.already_erased,
            "counts": report.counts,
        }).data)

    @extend_schema(summary="Everything held about a customer (right of access)",
                   responses={200: OpenApiResponse(description="One JSON document.")})
    @action(detail=True, methods=["get"], url_path="personal-data")
    def personal_data(self, request, *args, **kwargs):
        """Profile, consent history, orders, events, segments with their rules, feature
        values, deliveries with opens and clicks. Recorded in the privacy audit."""
        return Response(export_customer(customer=self.get_object(), actor=request.user))


class SignupRequestSerializer(StrictTypesMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SignupConfirmSerializer(StrictTypesMixin, serializers.Serializer):
    token = serializers.CharField(max_length=500)


def confirm_url_for(request):
    return lambda token: request.build_absolute_uri(reverse("crm:signup_confirm",
                                                            args=[token]))


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    schema = RulecastAutoSchema()

    def get_throttles(self) -> list:
        return current_throttles()


class SignupView(PublicView):
    """Public: ask for email consent by double opt-in (a confirmation email is sent)."""

    @extend_schema(summary="Sign up for emails (double opt-in)", request=SignupRequestSerializer,
                   responses={202: inline_serializer("SignupAccepted",
                                                     {"detail": serializers.CharField()})})
    def post(self, request):
        serializer = SignupRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request_signup(email=serializer.validated_data["email"],
                       name=serializer.validated_data.get("name", ""),
                       confirm_url=confirm_url_for(request))
        return Response({"detail": "A confirmation link was sent to the address."},
                        status=status.HTTP_202_ACCEPTED)


class SignupConfirmView(PublicView):
    """Public: confirm a sign-up with the token of its emailed link."""

    @extend_schema(summary="Confirm a sign-up", request=SignupConfirmSerializer,
                   responses={200: inline_serializer("SignupConfirmed",
                                                     {"confirmed": serializers.BooleanField()})})
    def post(self, request):
        serializer = SignupConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            confirm_signup(token=serializer.validated_data["token"])
        except SignupError as error:
            raise serializers.ValidationError(
                {"token": [f"This link is {error.reason}; sign up again."]}) from None
        return Response({"confirmed": True})
