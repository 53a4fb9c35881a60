"""What other apps add to erasure, access exports and retention.

crm never imports the apps above it; campaigns and segmentation register their
part here from ``AppConfig.ready()`` (``register(name, erase=..., export=..., purge=...)``).

- ``erase(customer, email)`` removes the customer's personal data from the app's
  tables and returns counts of what it changed (inside the erasure's transaction);
- ``export(customer)`` returns a JSON-ready value: the app's section of the access export;
- ``purge(now)`` removes what the app keeps past its retention and returns counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Eraser = Callable[..., dict[str, int]]
Exporter = Callable[..., Any]
Purger = Callable[[datetime], dict[str, int]]


@dataclass(frozen=True)
class PrivacyHooks:
    name: str
    erase: Eraser | None = None
    export: Exporter | None = None
    purge: Purger | None = None


_hooks: dict[str, PrivacyHooks] = {}


def register(name: str, *, erase: Eraser | None = None, export: Exporter | None = None,
             purge: Purger | None = None) -> None:
    """Add (or replace) an app's privacy hooks under ``name``."""
    _hooks[name] = PrivacyHooks(name, erase, export, purge)


def registered() -> list[PrivacyHooks]:
    return list(_hooks.values())
