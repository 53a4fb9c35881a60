"""Admin actions of third-party apps that change state but declare no permission.

django_celery_beat's task actions (enable, disable, toggle, run) and django-axes'
"clean up expired attempts" are offered to any staff user who may view the model; a
view-only user could run or stop periodic tasks. Each gets the permission that
matches what it does (``allowed_permissions``), as Rulecast's own actions declare.
"""

from __future__ import annotations

from django.apps import apps

REQUIRED = {
    "django_celery_beat.admin.PeriodicTaskAdmin": {
        "enable_tasks": "change", "disable_tasks": "change", "toggle_tasks": "change",
        "run_tasks": "change",
    },
    "axes.admin.AccessAttemptAdmin": {"cleanup_expired_attempts": "delete"},
}


def require_action_permissions() -> None:
    """Called in CrmConfig.ready, after the admin autodiscovered every app's admin."""
    if not apps.is_installed("django.contrib.admin"):
        return
    from django.contrib import admin

    for model_admin in admin.site._registry.values():
        cls = type(model_admin)
        for base in cls.__mro__:
            wanted = REQUIRED.get(f"{base.__module__}.{base.__qualname__}", {})
            for name, permission in wanted.items():
                action = getattr(cls, name, None)
                if action is not None and not getattr(action, "allowed_permissions", None):
                    action.allowed_permissions = (permission,)
