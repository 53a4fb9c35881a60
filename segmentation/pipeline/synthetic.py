"""Synthetic customer tables for tests, benchmarks and demos.

``retail_catalog`` declares the built-in features the way the Django side
does; ``make_retail_customers`` draws a realistic, overlapping mix of customer
types (heavy-tailed counts and money); ``make_lognormal_groups`` draws
well-separated lognormal groups with a known answer.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..rules.catalog import FeatureInfo, make_catalog

__all__ = ["make_lognormal_groups", "make_retail_customers", "retail_catalog"]


def retail_catalog() -> Mapping[str, FeatureInfo]:
    """Return the built-in customer features (names, labels, units)."""
    return make_catalog(
        [
            FeatureInfo("recency_days", "recency", "距上次下单", "days"),
            FeatureInfo("frequency", "orders", "订单数", "orders", skewed=True),
            FeatureInfo(
                "orders_90d", "orders in the last 90 days", "近90天订单数", "orders", skewed=True
            ),
            FeatureInfo("total_spend", "total spend", "累计消费", "yuan", skewed=True),
            FeatureInfo(
                "avg_order_value", "average order value", "平均客单价", "yuan", skewed=True
            ),
            FeatureInfo("tenure_days", "days as a customer", "成为客户天数", "days"),
            FeatureInfo("age_years", "age", "年龄", "years"),
            FeatureInfo(
                "mean_days_between_orders",
                "days between orders",
                "平均下单间隔",
                "days",
                skewed=True,
            ),
            FeatureInfo(
                "top_category_share",
                "share of the top category",
                "最常购品类占比",
                "share",
                decimals=0,
            ),
            FeatureInfo(
                "sessions_30d",
                "sessions in the last 30 days",
                "近30天访问次数",
                "sessions",
                skewed=True,
            ),
        ]
    )


# persona: (weight, recency median, orders/year, aov median, tenure median, age mean,
#           category focus (beta a, b), sessions/30d)
_PERSONAS = {
    "champions": (0.12, 8, 24, 420, 900, 38, (2, 3), 14),
    "regulars": (0.22, 30, 8, 260, 700, 42, (3, 3), 6),
    "new": (0.15, 12, 2, 220, 40, 31, (4, 2), 8),
    "lapsed": (0.25, 320, 3, 240, 1100, 45, (3, 3), 0.6),
    "bargain": (0.14, 25, 10, 70, 600, 36, (2, 4), 7),
    "browsers": (0.12, 150, 1, 180, 400, 29, (3, 3), 22),
}


def make_retail_customers(
    n: int, *, random_state: int, missing: float = 0.0, spread: float = 1.0
) -> pd.DataFrame:
    """Draw a retail-like customer feature table.

    Parameters
    ----------
    n : int
        Number of customers.
    random_state : int
        Seed.
    missing : float
        Share of values set to NaN in some columns (age, top category share).
    spread : float
        Scales the within-persona noise (1.0: realistic overlap).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; columns as in :func:`retail_catalog`, floats.
    """
    rng = np.random.default_rng(random_state)
    names = list(_PERSONAS)
    weights = np.array([_PERSONAS[p][0] for p in names])
    persona = rng.choice(len(names), size=n, p=weights / weights.sum())
    params = np.array([_PERSONAS[p][1:6] + _PERSONAS[p][7:] for p in names], dtype=float)
    rec, rate, aov, ten, age, ses = params[persona].T
    s = spread
    tenure = np.maximum(1, np.round(ten * rng.lognormal(0, 0.35 * s, n)))
    years = tenure / 365.0
    frequency = 1 + rng.poisson(rate * np.maximum(years, 0.1) * rng.lognormal(0, 0.4 * s, n))
    recency = np.minimum(tenure, np.round(rec * rng.lognormal(0, 0.5 * s, n)))
    active = np.exp(-recency / 90.0)
    orders_90d = rng.poisson(rate / 4.0 * active * rng.lognormal(0, 0.3 * s, n))
    order_value = np.round(aov * rng.lognormal(0, 0.35 * s, n), 2)
    total = np.round(frequency * order_value * rng.lognormal(0, 0.15 * s, n), 2)
    ab = np.array([_PERSONAS[p][6] for p in names], dtype=float)[persona]
    frame = pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency.astype(float),
            "orders_90d": orders_90d.astype(float),
            "total_spend": total,
            "avg_order_value": np.round(total / frequency, 2),
            "tenure_days": tenure,
            "age_years": np.clip(np.round(rng.normal(age, 9 * s, n)), 18, 90),
            "mean_days_between_orders": np.round(tenure / frequency, 1),
            "top_category_share": np.round(rng.beta(ab[:, 0], ab[:, 1]), 3),
            "sessions_30d": rng.poisson(ses * rng.lognormal(0, 0.4 * s, n)).astype(float),
        },
        index=pd.RangeIndex(n, name="customer_id"),
    )
    if missing:
        for col in ("age_years", "top_category_share"):
            frame.loc[rng.random(n) < missing, col] = np.nan
    return frame


def make_lognormal_groups(
    n: int, k: int, *, random_state: int, n_features: int = 5, separation: float = 2.5
) -> tuple[pd.DataFrame, np.ndarray, Mapping[str, FeatureInfo]]:
    """Draw ``k`` well-separated lognormal groups.

    Parameters
    ----------
    n, k : int
        Rows and groups.
    random_state : int
    n_features : int
    separation : float
        Distance between group centres in log space, in noise standard deviations.

    Returns
    -------
    (frame, groups, catalog)
        The table (positive, heavy-tailed columns), the true group of each row,
        and a catalog declaring every column skewed money.
    """
    rng = np.random.default_rng(random_state)
    centres = rng.normal(0.0, separation, size=(k, n_features))
    sizes = rng.dirichlet(np.full(k, 4.0)) * 0.7 + 0.3 / k
    groups = rng.choice(k, size=n, p=sizes / sizes.sum())
    logs = 4.0 + 0.5 * (centres[groups] + rng.normal(size=(n, n_features)))
    names = [f"x{i}" for i in range(n_features)]
    frame = pd.DataFrame(np.round(np.exp(logs), 2), columns=names)
    catalog = make_catalog(
        FeatureInfo(c, f"measure {i}", f"指标{i}", "yuan", skewed=True) for i, c in enumerate(names)
    )
    return frame, groups, catalog
