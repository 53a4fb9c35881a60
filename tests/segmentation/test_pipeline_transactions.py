"""Purchase features from a transaction frame, as of the day after the last order."""

import numpy as np
import pandas as pd
import pytest

from segmentation.pipeline.transactions import PURCHASE_CATALOG, purchase_features


def test_features_as_of_the_day_after_the_last_order():
    orders = pd.DataFrame({
        "customer_id": [1, 1, 1, 2],
        "placed_at": ["1998-01-10 00:00:00", "1998-03-01 15:00:00", "1998-06-29 00:00:00",
                      "1998-06-30 10:00:00"],
        "amount": [10.0, 20.0, 30.0, 5.0],
    })
    frame, as_of = purchase_features(orders)
    assert as_of == pd.Timestamp("1998-07-01")
    one, two = frame.loc[1], frame.loc[2]
    assert one["recency_days"] == 2 and two["recency_days"] == 0
    assert one["tenure_days"] == (pd.Timestamp("1998-07-01") - pd.Timestamp("1998-01-10")).days
    assert one["frequency"] == 3 and one["orders_90d"] == 1  # 1 March is 122 days before
    assert one["total_spend"] == 60 and one["avg_order_value"] == 20
    assert one["mean_days_between_orders"] == pytest.approx(170 / 2)
    assert np.isnan(two["mean_days_between_orders"])  # one order: no gap
    assert (frame[["recency_days", "tenure_days"]] >= 0).all().all()


def test_an_explicit_as_of_is_used():
    orders = pd.DataFrame({"customer_id": [1], "placed_at": ["2024-01-01"], "amount": [1.0]})
    frame, as_of = purchase_features(orders, as_of=pd.Timestamp("2024-01-31"))
    assert as_of == pd.Timestamp("2024-01-31") and frame.loc[1, "recency_days"] == 30


@pytest.mark.django_db
def test_labels_match_the_feature_registry():
    from segmentation.features import registry

    catalog = registry.catalog()
    for name, info in PURCHASE_CATALOG.items():
        assert catalog[name] == info, name
