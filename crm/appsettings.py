"""Namespaced app settings with defaults, read lazily (DRF's api_settings pattern).

Each Rulecast app declares ``RULECAST_<APP> = {...}`` defaults in its ``conf.py``;
a project overrides any key in its settings. Values are read on access and the
cache is dropped on ``setting_changed``, so ``override_settings`` works in tests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


class AppSettings:
    def __init__(self, setting_name: str, defaults: dict[str, Any]) -> None:
        self.setting_name = setting_name
        self.defaults = defaults
        self._cache: dict[str, Any] | None = None
        setting_changed.connect(self._reload, weak=False)

    def _values(self) -> dict[str, Any]:
        if self._cache is None:
            user = getattr(settings, self.setting_name, {}) or {}
            self._cache = {**self.defaults, **user}
        return self._cache

    def __getattr__(self, key: str) -> Any:
        if key not in self.defaults:
            raise AttributeError(f"{self.setting_name} has no setting {key!r}")
        return self._values()[key]

    def _reload(self, *, setting: str, **kwargs: Any) -> None:
        if setting == self.setting_name:
            self._cache = None
