"""Extension points: apps above segmentation add sections to its pages.

``register_segment_panel(func)``: ``func(segment)`` returns HTML shown on the
segment's card in the run's review page (campaigns adds how the segment
responded to past campaigns). Register in ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString

_segment_panels: list[Callable] = []


def register_segment_panel(func: Callable) -> Callable:
    if func not in _segment_panels:
        _segment_panels.append(func)
    return func


def segment_panels(segment) -> list[SafeString]:
    """The registered panels' HTML for ``segment`` (empty ones left out)."""
    return [html for html in (panel(segment) for panel in _segment_panels) if html]
