"""How round a number is, and the rounder numbers near it.

Roundness is the number of significant digits (``1200``: 2, ``1187.35``: 6).
Candidates come from the grid ``1, 2, 5 x 10^n``, coarsest step first: for
``1187.35`` the steps ``10000, 5000, 2000, 1000, 500, 200, 100, ...`` give the
multiples just below and above it, nearer first, keeping only numbers rounder
than ``1187.35``: ``0, 10000, 5000, 2000, 1000, 1500, 1200, 1100, 1150, ...``.
Whole numbers are the step ``1`` (``40.8 -> 40``, ``89.5 -> 90``).
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["plain_number", "round_candidates", "significant_digits"]


def plain_number(value: Decimal | float) -> float | int:
    """Return a number as ``int`` when it is whole (``90.0`` -> ``90``), else ``float``."""
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def significant_digits(value: float) -> int:
    """Count the significant digits of a number as written (``1200`` -> 2, ``89.5`` -> 3)."""
    if value == 0:
        return 0
    digits = Decimal(repr(float(value))).normalize().as_tuple().digits
    return len(digits)


def round_candidates(value: float, levels: int = 9) -> list[float | int]:
    """Return the numbers to try for ``value``, roundest first.

    Parameters
    ----------
    value : float
    levels : int
        How many decades of steps below the first to try.

    Returns
    -------
    list of int or float
        Multiples of the steps ``1, 2, 5 x 10^n`` around ``value``, coarsest
        step first and nearer first, keeping only numbers with fewer significant
        digits than ``value`` (``7`` is not made "rounder" as ``6``); the list
        ends with ``value`` itself.
    """
    if value == 0 or not math.isfinite(value):
        return [plain_number(value)]
    exact = Decimal(value)
    digits = significant_digits(value)
    top = math.floor(math.log10(abs(value))) + 1
    steps = [Decimal(10) ** top] + [
        Decimal(m) * Decimal(10) ** e
        for e in range(top - 1, top - 1 - levels, -1)
        for m in (5, 2, 1)
    ]
    out: list[float | int] = []
    for step in steps:
        low = (exact / step).to_integral_value(rounding="ROUND_FLOOR") * step
        for candidate in sorted((low, low + step), key=lambda c: abs(c - exact)):
            plain = plain_number(candidate)
            if plain == value:
                return [*out, plain]
            if plain not in out and significant_digits(plain) < digits:
                out.append(plain)
    return [*out, plain_number(value)]
