"""Errors the API answers besides DRF's own: 409 when an object is in use, 410 when data
was dropped on purpose."""

from __future__ import annotations

from rest_framework import exceptions, status


class Conflict(exceptions.APIException):
    """409: the request is valid but the object's state forbids it; ``detail`` says why."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is in use."
    default_code = "conflict"


class Gone(exceptions.APIException):
    """410: the object exists but this part of it was dropped on purpose; ``detail`` says why."""

    status_code = status.HTTP_410_GONE
    default_detail = "This data is no longer kept."
    default_code = "gone"
