"""The demo shop's vocabulary and its hidden behaviour groups, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

#: Order categories (the demo writes them in Simplified Chinese, as a Chinese shop would).
CATEGORIES: tuple[str, ...] = ("电子产品", "服装", "家居", "美妆", "食品")
#: Relative price level of each category; a customer's mix does not move their AOV.
CATEGORY_PRICE: tuple[float, ...] = (1.5, 1.0, 1.15, 0.85, 0.6)
#: Where bargain hunters' favourite category falls (cheap everyday goods mostly).
BARGAIN_FAVOURITE_P: tuple[float, ...] = (0.03, 0.30, 0.07, 0.25, 0.35)
CHANNELS: tuple[str, ...] = ("web", "app", "store", "wechat")
#: Behavioural events are kept for this many days before the reference time.
EVENT_WINDOW_DAYS = 90
#: Share of non-latest orders that are cancelled and refunded.
CANCELLED_P = 0.03
REFUNDED_P = 0.01


@dataclass(frozen=True)
class BehaviourGroup:
    """How one hidden group of customers buys and browses.

    Day ranges are whole days before the reference time ("now"). A customer's
    latest order is placed ``recency_days`` ago (never cancelled, so it is the
    customer's true recency); the others fall between then and the signup,
    weighted towards the present by ``order_time_skew`` (1 = uniform).
    """

    name: str
    share: float
    tenure_days: tuple[int, int]
    recency_days: tuple[int, int]
    orders_base: int
    orders_extra_mean: float
    orders_max: int | None
    order_time_skew: float
    aov_median: float  # yuan; each customer's typical order value is drawn around it
    aov_sigma: float  # spread of customers' typical order value (log scale)
    order_sigma: float  # spread of one customer's orders around their typical value
    items_extra_mean: float
    favourite_category_p: float | None  # None: a mixed basket (Dirichlet)
    channel_p: tuple[float, float, float, float]
    sessions_30d_base: int
    sessions_30d_extra_mean: float
    sessions_older_mean: float  # sessions between 31 and EVENT_WINDOW_DAYS days ago
    pages_extra_mean: float  # page views per session = 1 + Poisson(this)
    cart_add_p: float  # chance that a page view leads to a cart add
    unsubscribed_p: float
    age_mean: float


GROUPS: tuple[BehaviourGroup, ...] = (
    BehaviourGroup(
        name="loyal_high_spenders", share=0.15,
        tenure_days=(400, 1800), recency_days=(1, 21),
        orders_base=10, orders_extra_mean=6, orders_max=None, order_time_skew=1.5,
        aov_median=1200, aov_sigma=0.2, order_sigma=0.45, items_extra_mean=1.5,
        favourite_category_p=None, channel_p=(0.25, 0.40, 0.20, 0.15),
        sessions_30d_base=1, sessions_30d_extra_mean=1.5, sessions_older_mean=4,
        pages_extra_mean=1.0, cart_add_p=0.15, unsubscribed_p=0.01, age_mean=40,
    ),
    BehaviourGroup(
        name="bargain_hunters", share=0.25,
        tenure_days=(150, 700), recency_days=(1, 14),
        orders_base=14, orders_extra_mean=10, orders_max=None, order_time_skew=1.5,
        aov_median=80, aov_sigma=0.2, order_sigma=0.40, items_extra_mean=0.6,
        favourite_category_p=0.9, channel_p=(0.20, 0.35, 0.05, 0.40),
        sessions_30d_base=4, sessions_30d_extra_mean=4, sessions_older_mean=5,
        pages_extra_mean=1.0, cart_add_p=0.2, unsubscribed_p=0.02, age_mean=34,
    ),
    BehaviourGroup(
        name="lapsed_customers", share=0.25,
        tenure_days=(500, 1600), recency_days=(200, 450),
        orders_base=2, orders_extra_mean=5, orders_max=None, order_time_skew=1.0,
        aov_median=320, aov_sigma=0.35, order_sigma=0.45, items_extra_mean=1.0,
        favourite_category_p=None, channel_p=(0.40, 0.25, 0.20, 0.15),
        sessions_30d_base=0, sessions_30d_extra_mean=0.15, sessions_older_mean=0.3,
        pages_extra_mean=1.0, cart_add_p=0.05, unsubscribed_p=0.08, age_mean=38,
    ),
    BehaviourGroup(
        name="new_customers", share=0.15,
        tenure_days=(5, 58), recency_days=(1, 58),
        orders_base=1, orders_extra_mean=0.4, orders_max=2, order_time_skew=1.0,
        aov_median=260, aov_sigma=0.35, order_sigma=0.35, items_extra_mean=1.0,
        favourite_category_p=None, channel_p=(0.30, 0.35, 0.10, 0.25),
        sessions_30d_base=1, sessions_30d_extra_mean=2, sessions_older_mean=2,
        pages_extra_mean=1.0, cart_add_p=0.15, unsubscribed_p=0.01, age_mean=29,
    ),
    BehaviourGroup(
        name="browsers", share=0.20,
        tenure_days=(120, 1200), recency_days=(31, 900),
        orders_base=0, orders_extra_mean=0.04, orders_max=1, order_time_skew=1.0,
        aov_median=180, aov_sigma=0.35, order_sigma=0.3, items_extra_mean=0.5,
        favourite_category_p=None, channel_p=(0.45, 0.35, 0.05, 0.15),
        sessions_30d_base=8, sessions_30d_extra_mean=6, sessions_older_mean=6,
        pages_extra_mean=2.0, cart_add_p=0.08, unsubscribed_p=0.02, age_mean=30,
    ),
)

GROUP_NAMES: tuple[str, ...] = tuple(group.name for group in GROUPS)
