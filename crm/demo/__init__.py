"""A synthetic shop for demos and tests: customers, orders and events from hidden groups.

``seed_demo_shop`` writes it to the database (the ``seed_demo`` command calls it);
``generate_shop`` draws the same data as pandas tables and imports no Django models,
so ``crm.demo.generate`` also works where Django is not set up.
"""

from importlib import import_module
from typing import Any

from .generate import DemoShop, generate_shop
from .profiles import GROUP_NAMES, GROUPS, BehaviourGroup

_SERVICE_NAMES = {
    "DEMO_GROUP_KEY", "DemoSeedError", "DemoSummary", "GroupSummary", "default_now",
    "flush_crm", "seed_demo_shop",
}

__all__ = [
    "GROUPS",
    "GROUP_NAMES",
    "BehaviourGroup",
    "DemoShop",
    "generate_shop",
    *sorted(_SERVICE_NAMES),
]


def __getattr__(name: str) -> Any:
    # The service imports the crm models, so it is loaded on first use (PEP 562).
    if name in _SERVICE_NAMES:
        return getattr(import_module(".service", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
