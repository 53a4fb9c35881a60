"""Customer features straight from a transaction table, without a database.

For notebooks, benchmarks and tests: the same purchase features the Django
registry computes in SQL (``segmentation.features.builtin``), from a frame of
completed orders, as of a time. When no time is given it is the day after the
last order (a historic file is measured from its own end, not from today).
Whole days throughout; a missing signup is the first order; a customer with
one order has no mean time between orders (NaN).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..rules.catalog import FeatureInfo

__all__ = ["PURCHASE_CATALOG", "PURCHASE_FEATURES", "default_as_of", "purchase_features"]

#: The purchase features, labelled as the Django registry labels them.
PURCHASE_CATALOG: Mapping[str, FeatureInfo] = {
    info.name: info
    for info in (
        FeatureInfo("recency_days", "time since last order", "距上次下单时间",
                    unit="days", skewed=True),
        FeatureInfo("frequency", "orders", "订单数", unit="orders", skewed=True),
        FeatureInfo("orders_90d", "orders in the last 90 days", "近90天订单数",
                    unit="orders", skewed=True),
        FeatureInfo("total_spend", "total spend", "累计消费", unit="money", skewed=True),
        FeatureInfo("avg_order_value", "average order value", "平均客单价",
                    unit="money", skewed=True),
        FeatureInfo("tenure_days", "time since signup", "注册时长", unit="days", skewed=True),
        FeatureInfo("mean_days_between_orders", "mean time between orders", "平均下单间隔",
                    unit="days", skewed=True),
    )
}
PURCHASE_FEATURES = tuple(PURCHASE_CATALOG)

_DAY = pd.Timedelta(days=1)


def default_as_of(placed_at: pd.Series) -> pd.Timestamp:
    """The day after the last order (midnight)."""
    return pd.Timestamp(placed_at.max()).normalize() + _DAY


def purchase_features(
    orders: pd.DataFrame,
    *,
    customer: str = "customer_id",
    placed_at: str = "placed_at",
    amount: str = "amount",
    as_of: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """One row of purchase features per customer with at least one order.

    Parameters
    ----------
    orders : pandas.DataFrame
        Completed orders, one row each.
    customer, placed_at, amount : str
        Column names.
    as_of : pandas.Timestamp, optional
        "Now" for every time feature; default :func:`default_as_of`.

    Returns
    -------
    (features, as_of)
        ``features`` is indexed by customer, columns :data:`PURCHASE_FEATURES`.
    """
    when = pd.to_datetime(orders[placed_at])
    as_of = default_as_of(when) if as_of is None else pd.Timestamp(as_of)
    frame = pd.DataFrame({
        "customer": orders[customer].to_numpy(),
        "days_ago": ((as_of - when) / _DAY).to_numpy(dtype=float),
        "amount": pd.to_numeric(orders[amount], errors="coerce").to_numpy(dtype=float),
    })
    grouped = frame.groupby("customer", sort=True)
    first, last = grouped["days_ago"].max(), grouped["days_ago"].min()
    count = grouped.size().astype(float)
    spend = grouped["amount"].sum()
    recent = frame[frame["days_ago"] <= 90].groupby("customer").size()
    gaps = (first - last) / (count - 1).where(count > 1)
    out = pd.DataFrame({
        "recency_days": np.floor(last),
        "frequency": count,
        "orders_90d": recent.reindex(count.index, fill_value=0).astype(float),
        "total_spend": spend.round(2),
        "avg_order_value": (spend / count).round(2),
        "tenure_days": np.floor(first),
        "mean_days_between_orders": gaps.round(1),
    })
    out.index.name = customer
    return out, as_of
