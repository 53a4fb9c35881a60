"""Django's model permissions for the API, reads and custom actions included."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions

VIEW = "%(app_label)s.view_%(model_name)s"
ADD = "%(app_label)s.add_%(model_name)s"
CHANGE = "%(app_label)s.change_%(model_name)s"
DELETE = "%(app_label)s.delete_%(model_name)s"
SHORT_PERMISSIONS = {"view": VIEW, "add": ADD, "change": CHANGE, "delete": DELETE}
STANDARD_ACTIONS = frozenset(
    {"list", "retrieve", "create", "update", "partial_update", "destroy", "metadata", None}
)


class ModelPermissions(DjangoModelPermissions):
    """Django's model permissions, reads included.

    GET, HEAD and OPTIONS need the ``view`` permission (DRF's default lets any
    authenticated user read). A custom action that writes (``runs/{id}/publish``,
    ``campaigns/{id}/launch``) needs ``change``; a view can name other permissions per
    action in ``action_permissions``: ``"add"``, ``"change"``, ``"delete"``, ``"view"``
    of the view's model, or a full ``"app_label.codename"``.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": [VIEW],
        "OPTIONS": [VIEW],
        "HEAD": [VIEW],
    }

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        model = self._queryset(view).model
        kwargs = {"app_label": model._meta.app_label, "model_name": model._meta.model_name}
        action = getattr(view, "action", None)
        overrides = getattr(view, "action_permissions", {})
        if action in overrides:
            perms = [SHORT_PERMISSIONS.get(name, name) % kwargs for name in overrides[action]]
        elif action not in STANDARD_ACTIONS and request.method not in SAFE_METHODS:
            perms = [CHANGE % kwargs]
        else:
            perms = self.get_required_permissions(request.method, model)
        return request.user.has_perms(perms)
