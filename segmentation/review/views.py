"""The review page's views: check permissions, call the selector or one service, render.

URLs (added to ``SegmentationRunAdmin.get_urls`` by :func:`review_urls`)::

    <run id>/review/          the page (view permission)
    <run id>/review/status/   progress as JSON, polled while the run is queued/running
    <run id>/publish/         POST: services.publish_run (change permission)
    <run id>/requeue/         POST: services.requeue_run (change permission)
"""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext

from .. import services
from ..models import RunStatus, SegmentationRun
from .selectors import progress_of, run_review, user_language


def review_urls(model_admin) -> list[URLPattern]:
    """URL patterns for ``SegmentationRunAdmin.get_urls``, wrapped by the admin site."""
    wrap = model_admin.admin_site.admin_view
    return [
        path("<int:pk>/review/", wrap(partial(review_page, model_admin)),
             name="segmentation_segmentationrun_review"),
        path("<int:pk>/review/status/", wrap(partial(review_status, model_admin)),
             name="segmentation_segmentationrun_review_status"),
        path("<int:pk>/publish/", wrap(partial(publish, model_admin)),
             name="segmentation_segmentationrun_publish"),
        path("<int:pk>/requeue/", wrap(partial(requeue, model_admin)),
             name="segmentation_segmentationrun_requeue"),
    ]


def _run_for(model_admin, request: HttpRequest, pk: int, *, change: bool) -> SegmentationRun:
    run = get_object_or_404(SegmentationRun.objects.select_related("segmentation"), pk=pk)
    allowed = (model_admin.has_change_permission(request, run) if change
               else model_admin.has_view_permission(request, run))
    if not allowed:
        raise PermissionDenied
    return run


def review_page(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_for(model_admin, request, pk, change=False)
    can_change = model_admin.has_change_permission(request, run)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": SegmentationRun._meta,
        "title": gettext("Review %(run)s") % {"run": run},
        "subtitle": None,
        "run": run,
        "review": run_review(run, user_language()),
        "can_change": can_change,
        "can_publish": can_change and run.status == RunStatus.SUCCEEDED
        and not run.is_published,
        "can_requeue": can_change and run.status in (RunStatus.FAILED, RunStatus.RUNNING),
    }
    return TemplateResponse(request, "admin/segmentation/segmentationrun/review.html", context)


def review_status(model_admin, request: HttpRequest, pk: int) -> JsonResponse:
    run = _run_for(model_admin, request, pk, change=False)
    return JsonResponse(progress_of(run))


def _back(pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:segmentation_segmentationrun_review", args=[pk]))


def publish(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = _run_for(model_admin, request, pk, change=True)
    try:
        run = services.publish_run(run=run)
    except ValueError as error:
        model_admin.message_user(request, str(error), messages.ERROR)
    else:
        model_admin.log_change(request, run, gettext("Published."))
        model_admin.message_user(request, gettext(
            "Run %(pk)s is published: campaigns can now target its segments.") % {"pk": run.pk},
            messages.SUCCESS)
    return _back(run.pk)


def requeue(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = _run_for(model_admin, request, pk, change=True)
    if run.status not in (RunStatus.FAILED, RunStatus.RUNNING):
        model_admin.message_user(request, gettext(
            "Only a failed or stuck run can be run again."), messages.ERROR)
        return _back(run.pk)
    services.requeue_run(run=run)
    model_admin.log_change(request, run, gettext("Queued again."))
    model_admin.message_user(request, gettext("Run %(pk)s is queued again.") % {"pk": run.pk},
                             messages.SUCCESS)
    return _back(run.pk)
